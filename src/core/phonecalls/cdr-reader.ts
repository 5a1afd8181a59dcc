// Reads the calls of a window from Asterisk's `cdr` table (MySQL/MariaDB, as Asterisk's cdr_mysql
// writes it), page by page, as calls for the phonecalls service: destinations rewritten, the PBX's
// local `calldate` turned into an instant, a recording link filled in.
import type { Dialect } from "../sql/dialect.ts";
import { raw, sql } from "../sql/template.ts";
import { recordingUrl, type RewriteRule, rewriteDestination, zonedInstant } from "./cdr.ts";
import type { NewPhonecall } from "./phonecalls.ts";

/** Calls read per query: memory stays bounded however long the window. */
const PAGE = 5_000;

export interface CdrWindow {
  /** The first calldate read, as the PBX writes it: local "YYYY-MM-DD HH:MM:SS". */
  since: string;
  /** Shorter destinations are extensions, not read. */
  minDigits: number;
  /** The PBX's time zone, which its calldate is written in. */
  zone: string;
  rules: readonly RewriteRule[];
  /** The recording link, e.g. `http://pbx/recordings/{channel}`. */
  recordingUrl?: string;
}

type CdrRow = Record<string, unknown>;

/** The calls of the window, one page at a time. */
export async function* readCdrCalls(cdr: Dialect, window: CdrWindow): AsyncGenerator<NewPhonecall[]> {
  // Keyset paging on (calldate, uniqueid): cheap on the calldate index however long the window, and
  // rows that Asterisk adds meanwhile do not shift the pages.
  let after: [calldate: string, uniqueid: string] | undefined;
  for (;;) {
    const next = after ? sql` AND (calldate > ${after[0]} OR (calldate = ${after[0]} AND uniqueid > ${after[1]}))` : raw("");
    const query = sql`SELECT *, DATE_FORMAT(calldate, '%Y-%m-%d %H:%i:%s') AS dbsync_calldate FROM cdr
      WHERE calldate >= ${window.since} AND LENGTH(dst) >= ${window.minDigits}${next}
      ORDER BY calldate, uniqueid ${raw(cdr.limitClause(PAGE))}`;
    const rows = await cdr.all<CdrRow>(...query.render(cdr));
    const kept = rows.length === PAGE ? withoutLastKey(rows) : rows;
    yield kept.map((row) => cdrCall(row, window));
    if (rows.length < PAGE) return;
    const lastKept = kept.at(-1) as CdrRow;
    after = [String(lastKept.dbsync_calldate), String(lastKept.uniqueid ?? "")];
  }
}

/** Rows sharing the last key of a full page may go on beyond it: they are read with the next one. */
function withoutLastKey(rows: CdrRow[]): CdrRow[] {
  const key = (row: CdrRow | undefined) => `${row?.dbsync_calldate}\u0000${row?.uniqueid}`;
  const last = key(rows.at(-1));
  const cut = rows.findIndex((row) => key(row) === last);
  return cut > 0 ? rows.slice(0, cut) : rows;
}

function cdrCall(row: CdrRow, window: CdrWindow): NewPhonecall {
  return {
    initiated: zonedInstant(String(row.dbsync_calldate), window.zone).toISOString(),
    source: String(row.src ?? ""),
    destination: rewriteDestination(window.rules, String(row.dst ?? "")),
    duration: row.duration === null || row.duration === undefined ? undefined : Number(row.duration),
    url: window.recordingUrl ? recordingUrl(window.recordingUrl, row) : undefined,
  };
}
