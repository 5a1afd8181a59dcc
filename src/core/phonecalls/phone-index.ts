// Finds the contact of a phone number among the synced contacts. The contacts table has no index on
// phone numbers (and their spelling varies), so the server keeps its own lookup table beside it:
// one row per (number tail, contact, number) whose primary key starts with the tail, so a lookup is
// a range scan of the primary key on every database. It follows the contacts table in change order
// (`$changed`, `$id`); contacts changed since are searched directly.
import type { ContactPosition, ContactReader } from "../sql/contact-reader.ts";
import type { Dialect, SqlExecutor } from "../sql/dialect.ts";
import { name, names, raw, sql, values } from "../sql/template.ts";
import { MAX_DIGITS, MIN_SIGNIFICANT_DIGITS, normalisePhone, phoneNumbersIn, phoneTail, samePhone } from "../common/phone-numbers.ts";
import { createTables, once, type ServiceTable, serviceTable } from "./service-tables.ts";

/** Contacts indexed per step: one transaction each. */
const STEP = 500;
/** A lookup looks for changed contacts at most this often (a miss always looks). */
const REFRESH_EVERY_MS = 2_000;
/** The row of the keys table that holds how far the index reaches. */
const PROGRESS = "";
/** A refresh without a step for this long is taken as cut off, never to end (a step takes ms to seconds). */
const STALLED_MS = 120_000;
/** A lookup waits this long for the index to catch up (its first build may take minutes). */
const WAIT_FOR_INDEX_MS = 5_000;
const BUSY = "the phone number index is being built; try again in half a minute";
/** Bounds every `$changed` (a stamp like 2026-11-22T10:00:00Z) in any collation. */
const END_OF_TIME = "9999-12-31T23:59:59Z";

/** The index is being built: the lookup cannot answer yet (worth trying again in a while). */
export class PhoneIndexBusyError extends Error {
  override name = "PhoneIndexBusyError";
}

/**
 * The contacts table does not exist (the sync has not written this database): every number would be
 * "no contact", which is not so; worth trying again once the sync has run.
 */
export class NoContactsTableError extends PhoneIndexBusyError {
  override name = "NoContactsTableError";
}

/** What a lookup found: the contact, none, or several equally good ones. */
export interface PhoneMatch {
  contactId?: string;
  /** No contact picked because several match equally. */
  ambiguous?: boolean;
}

export interface PhoneIndexOptions {
  /** Contact columns holding phone numbers (`$phone` and the campaign's phone fields). */
  phoneColumns: (columns: readonly string[]) => string[];
  /** As for Talkdesk: a contact is indexed once its write surely committed. */
  settleMs: number;
  now?: () => number;
  /** A refresh failed (the lookup went on without it); for the server's log. */
  onError?: (error: unknown) => void;
}

export class PhoneIndex {
  private readonly specs: { index: ServiceTable; keys: ServiceTable };
  private readonly now: () => number;
  private refreshedAt = 0;
  /** Until one refresh has gone through the whole table, the index cannot answer. */
  private built = false;
  /** Creates the two tables once per process. */
  private readonly prepare: () => Promise<void>;
  private refreshing: { done: Promise<void>; steppedAt: number } | undefined;

  constructor(
    private readonly dialect: Dialect,
    private readonly contacts: ContactReader,
    prefix: string,
    private readonly options: PhoneIndexOptions,
  ) {
    this.specs = {
      index: serviceTable(dialect, `${prefix}phone_index`, "key", {
        key: "short_string",
        contact_id: "short_string",
        number: "short_string",
      }),
      keys: serviceTable(dialect, `${prefix}phone_index_keys`, "contact_id", { contact_id: "short_string", keys: "text" }),
    };
    this.prepare = once(async () => {
      await createTables(dialect, [this.specs.index, this.specs.keys]);
      await this.addProgress();
    });
    this.now = options.now ?? Date.now;
  }

  /**
   * The contact whose phone numbers match `destination`: an exact match, else the one contact whose
   * number matches in its national form; several different contacts matching only so is ambiguous.
   */
  async find(destination: string): Promise<PhoneMatch> {
    const wanted = normalisePhone(destination);
    if (wanted.length < MIN_SIGNIFICANT_DIGITS || wanted.length > MAX_DIGITS) return { ambiguous: false };
    if ((await this.contacts.columns()).length === 0) {
      throw new NoContactsTableError("no contacts yet: the contacts table does not exist in this database (has the sync written it?)");
    }
    await this.prepare();
    // The first build must finish (a partial index could name a wrong contact); after it a refresh
    // still running is no reason to refuse what the index already knows.
    let busy = false;
    if (!this.built || this.now() - this.refreshedAt >= REFRESH_EVERY_MS) busy = !(await this.caughtUp(!this.built));
    let found = await this.lookup(wanted);
    if (!found.contactId && !found.ambiguous && !busy) {
      busy = !(await this.caughtUp(false));
      found = await this.lookup(wanted);
    }
    if (found.contactId || found.ambiguous) return found;
    const unsettled = await this.searchUnsettled(wanted);
    if (!unsettled.contactId && !unsettled.ambiguous && busy) throw new PhoneIndexBusyError(BUSY);
    return unsettled;
  }

  /** Starts bringing the index up to date (at server start: its first build may take a while). */
  warmUp(): void {
    // Nothing to index in a database the sync has not written: the first lookup after it has builds it.
    void this.contacts
      .columns()
      .then((columns) => (columns.length === 0 ? undefined : this.prepare().then(() => this.refresh())))
      .catch((error: unknown) => this.options.onError?.(error));
  }

  /**
   * Waits for a refresh, for a while: a lookup does not hang behind a long first build. False when
   * it is still running; with `required`, that is an error the caller answers with "try again".
   */
  private async caughtUp(required: boolean): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const busy = new Promise<"busy">((resolve) => (timer = setTimeout(() => resolve("busy"), WAIT_FOR_INDEX_MS)));
    const outcome = await Promise.race([this.refresh().then(() => "done" as const), busy]);
    clearTimeout(timer);
    if (outcome === "busy" && required) throw new PhoneIndexBusyError(BUSY);
    return outcome === "done";
  }

  /**
   * One refresh at a time: lookups arriving together wait for it instead of writing the same rows at
   * once (MariaDB deadlocks on that). A refresh that fails (the database gone for a moment) is not
   * the lookup's failure: contacts past the index are searched directly.
   */
  private refresh(): Promise<void> {
    // A refresh that has made no step for this long was cut off (on Workers, work that outlives its
    // request may be): it will never end, so a new one goes on from the stored progress.
    if (this.refreshing && this.now() - this.refreshing.steppedAt > STALLED_MS) this.refreshing = undefined;
    if (!this.refreshing) {
      const current = { done: Promise.resolve(), steppedAt: this.now() };
      current.done = this.refreshNow(() => {
        current.steppedAt = this.now();
      })
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          if (this.refreshing === current) this.refreshing = undefined;
        });
      this.refreshing = current;
    }
    return this.refreshing.done;
  }

  /** Settles when the refresh under way (if any) has; an edge runtime keeps the request alive for it. */
  settled(): Promise<void> {
    return this.refreshing?.done ?? Promise.resolve();
  }

  private async lookup(wanted: string): Promise<PhoneMatch> {
    const d = this.dialect;
    const tail = phoneTail(wanted);
    // Keys start with the tail's digits: from this tail up to the next one. Bounds of digits only
    // compare alike in every collation (some ignore punctuation such as "|").
    const next = String(Number(tail) + 1).padStart(tail.length, "0");
    const key = name("key");
    const upper = next.length > tail.length ? raw("") : sql` AND ${key} < ${next}`;
    const number = name("number");
    const query = sql`SELECT ${key} AS ${key}, ${name("contact_id")} AS contact_id, ${number} AS ${number}
      FROM ${name(this.specs.index.name)} WHERE ${key} >= ${tail}${upper}`;
    const rows = await d.all<{ key: string; contact_id: string; number: string }>(...query.render(d));
    const mine = rows.filter((row) => String(row.key).startsWith(`${tail}|`));
    return best(
      wanted,
      mine.map((row) => ({ contactId: String(row.contact_id), number: String(row.number) })),
    );
  }

  /** Brings the index up to the contacts changed before the settle time. */
  private async refreshNow(stepped: () => void): Promise<void> {
    this.refreshedAt = this.now();
    // Fresh: a contact indexed without a phone column just added would stay so, its progress passed.
    const columns = this.options.phoneColumns(await this.contacts.columns(0));
    const before = changedStamp(this.now() - this.options.settleMs);
    for (;;) {
      let from: string | undefined;
      let more: boolean;
      try {
        more = await this.dialect.transaction(async (tx) => {
          await this.takeTurn(tx);
          from = await this.progressText(tx);
          return this.step(tx, from, columns, before);
        });
      } catch (error) {
        // On D1 a step whose turn another server took first fails (see `checkTurn`): go on from there.
        if (from === undefined || (await this.progressText()) === from) throw error;
        continue;
      }
      stepped();
      if (!more) {
        this.built = true;
        return;
      }
    }
  }

  /**
   * Indexes the next contacts after the stored progress; whether more follow. Other server
   * processes refresh the same index: a step that read contacts before a change and wrote after
   * another process indexed the change would bring the old numbers back, and move the progress back
   * or, with that process's next step, leave them for good. So steps take turns on the progress row
   * and read progress, contacts and their keys only once it is theirs: each sees every earlier step.
   * `from` is the progress as this step read it first; a step always moves the progress on.
   */
  private async step(tx: SqlExecutor, from: string | undefined, columns: readonly string[], before: string): Promise<boolean> {
    const page = await this.contacts.page(
      { after: from ? (JSON.parse(from) as ContactPosition) : undefined, before, limit: STEP, columns },
      tx,
    );
    const last = page.rows.at(-1);
    if (!last) return false;
    await this.index(tx, page.rows, columns, { changed: String(last.$changed ?? ""), id: String(last.$id) }, from);
    return page.more;
  }

  /**
   * The turn of a step, taken before it reads. PostgreSQL, MySQL and SQL Server: the progress row
   * locked until the step commits. SQLite's write transaction holds the database's one write lock
   * from its start: nothing to take.
   */
  private async takeTurn(tx: SqlExecutor): Promise<void> {
    const d = this.dialect;
    if (d.kind === "sqlite") return;
    const keys = name("keys");
    await tx.run(...sql`UPDATE ${name(this.specs.keys.name)} SET ${keys} = ${keys} WHERE ${name("contact_id")} = ${PROGRESS}`.render(d));
  }

  /**
   * D1 has no transaction to hold: its reads run at once, its writes later as one atomic batch. There
   * the batch starts by adding the progress row a second time unless the progress is still as read:
   * when another step came between, the key is taken and the whole batch rolls back. (A no-op
   * wherever the turn was taken.)
   */
  private async checkTurn(tx: SqlExecutor, from: string | undefined): Promise<void> {
    const d = this.dialect;
    if (d.kind !== "sqlite" || from === undefined) return;
    const table = name(this.specs.keys.name);
    const [id, keys] = [name("contact_id"), name("keys")];
    const unchanged = sql`SELECT 1 FROM ${table} WHERE ${id} = ${PROGRESS} AND ${keys} = ${from}`;
    await tx.run(...sql`INSERT INTO ${table} (${id}, ${keys}) SELECT ${PROGRESS}, ${from} WHERE NOT EXISTS (${unchanged})`.render(d));
  }

  private async index(
    tx: SqlExecutor,
    rows: readonly Record<string, unknown>[],
    columns: readonly string[],
    reached: ContactPosition,
    from: string | undefined,
  ) {
    const d = this.dialect;
    const { index, keys } = this.specs;
    const ids = rows.map((row) => String(row.$id));
    const perList = Math.min(500, d.maxParams);
    const old: { keys: string }[] = [];
    for (let i = 0; i < ids.length; i += perList) {
      const part = ids.slice(i, i + perList);
      const query = sql`SELECT ${name("keys")} AS ${name("keys")} FROM ${name(keys.name)} WHERE ${name("contact_id")} IN (${values(part)})`;
      old.push(...(await tx.all<{ keys: string }>(...query.render(d))));
    }
    const stale = old.flatMap((row) => JSON.parse(String(row.keys)) as string[]);
    await this.checkTurn(tx, from);
    for (let i = 0; i < stale.length; i += perList) {
      const part = stale.slice(i, i + perList);
      await tx.run(...sql`DELETE FROM ${name(index.name)} WHERE ${name("key")} IN (${values(part)})`.render(d));
    }
    const entries: [string, string, string][] = [];
    const keysOf: [string, string][] = [[PROGRESS, JSON.stringify(reached)]];
    for (const row of rows) {
      const id = String(row.$id);
      const numbers = new Set(columns.flatMap((c) => phoneNumbersIn(String(row[c] ?? ""))));
      const mine = [...numbers].map((number) => `${phoneTail(number)}|${id}|${number}`);
      for (const [n, number] of [...numbers].entries()) entries.push([mine[n] as string, id, number]);
      keysOf.push([id, JSON.stringify(mine)]);
    }
    for (const [spec, list] of [
      [index, entries],
      [keys, keysOf],
    ] as const) {
      await d.upsert(tx, { table: spec.name, primaryKey: spec.primaryKey, columns: spec.columns.map((c) => c.name), rows: list });
    }
  }

  private async progress(): Promise<ContactPosition | undefined> {
    const text = await this.progressText();
    return text === undefined ? undefined : (JSON.parse(text) as ContactPosition);
  }

  /** How far the index reaches, as stored (the text a step compares to take its turn). */
  private async progressText(on: SqlExecutor = this.dialect): Promise<string | undefined> {
    const d = this.dialect;
    const keys = name("keys");
    const query = sql`SELECT ${keys} AS ${keys} FROM ${name(this.specs.keys.name)} WHERE ${name("contact_id")} = ${PROGRESS}`;
    const [row] = await on.all<{ keys: string }>(...query.render(d));
    return row ? String(row.keys) : undefined;
  }

  /** The progress row exists from the start: the row steps take turns on. */
  private async addProgress(): Promise<void> {
    if (await this.progress()) return;
    const start: ContactPosition = { changed: "", id: "" };
    const { name: table, columns } = this.specs.keys;
    const insert = sql`INSERT INTO ${name(table)} (${names(columns.map((c) => c.name))}) VALUES (${values([PROGRESS, JSON.stringify(start)])})`;
    try {
      await this.dialect.run(...insert.render(this.dialect));
    } catch (error) {
      // Another server process added it at the same moment.
      if (!(await this.progress())) throw error;
    }
  }

  /** Contacts written within the settle time are not indexed yet: they are few, so read directly. */
  private async searchUnsettled(wanted: string): Promise<PhoneMatch> {
    const columns = this.options.phoneColumns(await this.contacts.columns());
    const page = await this.contacts.page({ after: await this.progress(), before: END_OF_TIME, limit: 5_000, columns });
    const candidates = page.rows.flatMap((row) =>
      columns.flatMap((c) => phoneNumbersIn(String(row[c] ?? "")).map((number) => ({ contactId: String(row.$id), number }))),
    );
    const found = best(wanted, candidates);
    // More unindexed contacts than one read: the index is behind, "none" would be a guess.
    if (!found.contactId && !found.ambiguous && page.more) throw new PhoneIndexBusyError(BUSY);
    return found;
  }
}

/**
 * The contact with exactly this number; else the one contact matching it in national form. When
 * different contacts match only so (a short number shared by two cities), none is picked.
 */
function best(wanted: string, candidates: { contactId: string; number: string }[]): PhoneMatch {
  const matching = candidates.filter((c) => samePhone(wanted, c.number));
  const exact = [...new Set(matching.filter((c) => c.number === wanted).map((c) => c.contactId))].sort();
  if (exact.length > 0) return { contactId: exact[0] as string };
  // One number (held by one contact or, duplicated, by several): that number's first contact.
  const numbers = new Set(matching.map((c) => c.number));
  if (numbers.size === 1) return { contactId: [...new Set(matching.map((c) => c.contactId))].sort()[0] as string };
  return { ambiguous: numbers.size > 1 };
}

function changedStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
