// The stored calls: `<prefix>phonecalls` beside the synced contacts, through the dialect layer. A
// call is unique per (initiated, source, destination); its id is derived from that key.
import type { Dialect } from "../sql/dialect.ts";
import { name, names, sql, values } from "../sql/template.ts";
import { type NewPhonecall, phonecallId } from "./phonecalls.ts";
import { createTables, once, type ServiceTable, serviceTable } from "./service-tables.ts";

type CallKey = Pick<NewPhonecall, "initiated" | "source" | "destination">;

export class PhonecallStore {
  private readonly table: ServiceTable;
  /** Creates the table once per process. */
  readonly prepare: () => Promise<void>;

  constructor(
    private readonly dialect: Dialect,
    prefix: string,
  ) {
    this.table = serviceTable(dialect, `${prefix}phonecalls`, "id", {
      id: "short_string",
      initiated: "short_string",
      source: "short_string",
      destination: "short_string",
      duration: "int",
      url: "text",
      contact_id: "short_string",
      created_at: "short_string",
    });
    this.prepare = once(() => createTables(dialect, [this.table]));
  }

  /**
   * The stored call: its id and contact. Two different calls may share a 52-bit id (rarely): the
   * next ids are tried until the call itself or a free one is found.
   */
  async existing(call: CallKey): Promise<{ id: number; contactId?: string }> {
    await this.prepare();
    const d = this.dialect;
    let id = phonecallId(call);
    for (;;) {
      const columns = names(["contact_id", "initiated", "source", "destination"]);
      const query = sql`SELECT ${columns} FROM ${name(this.table.name)} WHERE ${name("id")} = ${String(id)}`;
      const [row] = await d.all<Record<string, unknown>>(...query.render(d));
      if (!row) return { id };
      if (row.initiated === call.initiated && row.source === call.source && row.destination === call.destination) {
        return { id, contactId: String(row.contact_id) };
      }
      id = (id + 1) % 2 ** 52;
    }
  }

  /** Stores the call unless it exists; `created` says which. */
  async create(call: NewPhonecall, contactId: string, now = new Date()): Promise<{ id: number; contactId: string; created: boolean }> {
    const found = await this.existing(call);
    const id = found.id;
    if (found.contactId !== undefined) return { id, contactId: found.contactId, created: false };
    const d = this.dialect;
    const columns = this.table.columns.map((c) => c.name);
    const row = [
      String(id),
      call.initiated,
      call.source,
      call.destination,
      call.duration ?? null,
      call.url ?? null,
      contactId,
      now.toISOString(),
    ];
    try {
      await d.run(...sql`INSERT INTO ${name(this.table.name)} (${names(columns)}) VALUES (${values(row)})`.render(d));
      return { id, contactId, created: true };
    } catch (error) {
      // The same call created at the same moment by another request: that one won.
      const winner = await this.existing(call);
      if (winner.contactId !== undefined) return { id: winner.id, contactId: winner.contactId, created: false };
      throw error;
    }
  }

  /** Deletes the calls initiated on the days strictly between `from` and `to` (UTC); returns how many. */
  async delete(from: string, to: string): Promise<number> {
    await this.prepare();
    const d = this.dialect;
    const start = new Date(Date.parse(`${from}T00:00:00Z`) + 86_400_000).toISOString();
    const end = new Date(`${to}T00:00:00Z`).toISOString();
    if (start >= end) return 0;
    const initiated = name("initiated");
    // The DELETE's own count: a COUNT before it would also see, or miss, calls created in between.
    return d.runCounted(...sql`DELETE FROM ${name(this.table.name)} WHERE ${initiated} >= ${start} AND ${initiated} < ${end}`.render(d));
  }
}
