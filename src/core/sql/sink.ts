// The SQL sink: contacts become rows (core/sync/rows.ts) and go into the target in one transaction.
import { contactRows, inboundCallRow, type RowWarning, type TransactionFilter } from "../sync/rows.ts";
import type { RowCounts, Sink } from "../sync/sink.ts";
import type { RowSet, SqlTarget } from "./target.ts";
import type { Contact, InboundCall } from "../sync/source.ts";
import type { CampaignField, TableKey } from "../sync/tables.ts";

export interface SqlSinkOptions {
  filter: TransactionFilter;
  now?: () => Date;
  onWarning?: (warning: RowWarning) => void;
  /**
   * Called once the rows' `$changed` stamp is taken, before they are written; throws to write nothing.
   * A replica of `dbsync run` checks here that its lease cannot have run out yet: the stamp is then
   * older than any a later owner gives, and the target's upsert keeps the later owner's rows even if
   * this process stalls between here and the commit. Checked before the stamp, a stall in between
   * would give stale contents a fresh stamp.
   */
  beforeWrite?: () => void;
}

export function createSqlSink(target: SqlTarget, options: SqlSinkOptions): Sink {
  const now = options.now ?? (() => new Date());

  async function write(rows: RowSet): Promise<RowCounts> {
    await target.write(rows);
    const counts: RowCounts = {};
    for (const [key, list] of Object.entries(rows)) if (list?.length) counts[key as TableKey] = list.length;
    return counts;
  }

  return {
    prepare: (fields: readonly CampaignField[]) => target.prepare(fields),
    knownMd5: (ids) => target.storedMd5(ids),
    async writeContacts(contacts: readonly Contact[]) {
      const at = now();
      options.beforeWrite?.();
      const rows: Required<Omit<RowSet, "inbound_calls">> = { contacts: [], transactions: [], connections: [], recordings: [] };
      for (const contact of contacts) {
        const split = contactRows(contact, options.filter, at);
        for (const key of Object.keys(rows) as (keyof typeof rows)[]) rows[key].push(...split.rows[key]);
        for (const warning of split.warnings) options.onWarning?.(warning);
      }
      return write(rows);
    },
    async writeInboundCalls(calls: readonly InboundCall[]) {
      const at = now();
      options.beforeWrite?.();
      return write({ inbound_calls: calls.map((call) => inboundCallRow(call, at)) });
    },
    close: () => target.close(),
  };
}
