// The phonecalls web service of seed 004 ("Servicios Web - Llamadas"): calls created with their
// contact found by the destination number, unique per (initiated, source, destination), deleted by
// date range. Stored in `<prefix>phonecalls` beside the synced contacts, through the dialect layer.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import * as v from "valibot";
import { parseDateTime } from "../common/date-time.ts";
import type { Dialect } from "../sql/dialect.ts";
import { createTables } from "./phone-index.ts";
import type { TableSpec } from "../sql/tables.ts";
import { textFaults } from "../common/text-checks.ts";

export interface NewPhonecall {
  /** ISO 8601 instant, normalised to UTC with milliseconds. */
  initiated: string;
  source: string;
  destination: string;
  duration?: number;
  url?: string;
}

export type FieldErrors = Record<string, string>;

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

const MAX_NUMBER = 64;
const MAX_URL = 2048;

const required = (name: string, message: string) =>
  v.pipe(v.optional(v.string(), ""), v.trim(), v.nonEmpty(`${name} is required${message}`));

const phoneNumber = (name: string) =>
  v.pipe(
    required(name, ""),
    v.maxLength(MAX_NUMBER, `${name} is longer than ${MAX_NUMBER} characters`),
    v.regex(/\d/, `${name} must be a phone number`),
  );

const CreateSchema = v.object({
  initiated: v.pipe(
    required("initiated", ": the date and time of the call in ISO 8601"),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      // The instant is what makes a call unique, however it was written.
      const instant = parseDateTime(dataset.value);
      if (instant) return instant;
      addIssue({ message: "initiated must be a date and time in ISO 8601, e.g. 2012-08-23T12:20:33" });
      return NEVER;
    }),
  ),
  source: phoneNumber("source"),
  destination: phoneNumber("destination"),
  duration: v.pipe(
    v.optional(v.string(), ""),
    v.trim(),
    v.regex(/^(\d{1,9})?$/, "duration must be a whole number of seconds"),
    v.transform((raw) => (raw === "" ? undefined : Number(raw))),
  ),
  url: v.pipe(
    v.optional(v.string(), ""),
    v.trim(),
    v.maxLength(MAX_URL, `url is longer than ${MAX_URL} characters`),
    v.check((raw) => raw === "" || isHttpUrl(raw), "url must be an absolute http(s) URL"),
    v.transform((raw) => raw || undefined),
  ),
});

const DeleteSchema = v.pipe(
  v.object({
    from: v.pipe(required("from", ": a date without time, e.g. 2012-08-23"), v.check(isDay, "from must be a date without time, e.g. 2012-08-23")),
    to: v.pipe(required("to", ": a date without time, e.g. 2012-08-23"), v.check(isDay, "to must be a date without time, e.g. 2012-08-23")),
  }),
  v.forward(
    v.check(({ from, to }) => from < to, "to must be after from"),
    ["to"],
  ),
);

/** Each invalid parameter with the first thing wrong with it. */
function check<T>(schema: v.GenericSchema<Record<string, string | undefined>, T>, params: Record<string, string | undefined>): Checked<T> {
  // Text a database would store otherwise than sent breaks the call's unique key: refused first.
  const errors: FieldErrors = textFaults(params);
  const parsed = v.safeParse(schema, params, { abortPipeEarly: true });
  if (parsed.success && Object.keys(errors).length === 0) return { ok: true, value: parsed.output };
  if (parsed.success) return { ok: false, errors };
  for (const issue of parsed.issues) {
    const key = String(issue.path?.[0]?.key ?? "request");
    errors[key] ??= issue.message;
  }
  return { ok: false, errors };
}

/** Every parameter of a create checked; each invalid one gets its own entry. */
export function checkCreate(params: Record<string, string | undefined>): Checked<NewPhonecall> {
  return check(CreateSchema, params);
}

/** A delete's range: both days exclusive, as the seed says; calls of the days in between go. */
export function checkDelete(params: Record<string, string | undefined>): Checked<{ from: string; to: string }> {
  return check(DeleteSchema, params);
}

function isDay(raw: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (!match) return false;
  const date = new Date(`${raw}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(raw);
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * The call's id: derived from its unique key, so a second create of the same call finds the first
 * without a unique index (which MySQL cannot put on text columns) and without a race. 52 bits: a
 * whole number every JSON reader holds exactly.
 */
export function phonecallId(call: Pick<NewPhonecall, "initiated" | "source" | "destination">): number {
  const digest = bytesToHex(sha256(utf8ToBytes(`${call.initiated}\n${call.source}\n${call.destination}`)));
  return Number.parseInt(digest.slice(0, 13), 16);
}

function phonecallsSpec(prefix: string): TableSpec {
  return {
    key: "contacts",
    name: `${prefix}phonecalls`,
    primaryKey: "id",
    columns: [
      { name: "id", type: "short_string" },
      { name: "initiated", type: "short_string" },
      { name: "source", type: "short_string" },
      { name: "destination", type: "short_string" },
      { name: "duration", type: "int" },
      { name: "url", type: "text" },
      { name: "contact_id", type: "short_string" },
      { name: "created_at", type: "short_string" },
    ],
  };
}

export class PhonecallStore {
  private readonly spec: TableSpec;
  private preparing: Promise<void> | undefined;

  constructor(
    private readonly dialect: Dialect,
    prefix: string,
  ) {
    const spec = phonecallsSpec(prefix);
    this.spec = { ...spec, name: dialect.fitIdentifier(spec.name) };
  }

  /** Once per process; requests arriving together wait for the same one. */
  prepare(): Promise<void> {
    this.preparing ??= createTables(this.dialect, [this.spec]).catch((error: unknown) => {
      this.preparing = undefined;
      throw error;
    });
    return this.preparing;
  }

  /**
   * The stored call: its id and contact. Two different calls may share a 52-bit id (rarely): the
   * next ids are tried until the call itself or a free one is found.
   */
  async existing(call: Pick<NewPhonecall, "initiated" | "source" | "destination">): Promise<{ id: number; contactId?: string }> {
    await this.prepare();
    const d = this.dialect;
    const sql =
      `SELECT ${["contact_id", "initiated", "source", "destination"].map((c) => d.quote(c)).join(", ")} ` +
      `FROM ${d.quote(this.spec.name)} WHERE ${d.quote("id")} = ${d.placeholder(1)}`;
    let id = phonecallId(call);
    for (;;) {
      const [row] = await d.all<Record<string, unknown>>(sql, [String(id)]);
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
    const columns = this.spec.columns.map((c) => c.name);
    const values = [String(id), call.initiated, call.source, call.destination, call.duration ?? null, call.url ?? null, contactId, now.toISOString()];
    try {
      await d.run(
        `INSERT INTO ${d.quote(this.spec.name)} (${columns.map((c) => d.quote(c)).join(", ")}) VALUES (${columns.map((_, i) => d.placeholder(i + 1)).join(", ")})`,
        values,
      );
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
    const where = `${d.quote("initiated")} >= ${d.placeholder(1)} AND ${d.quote("initiated")} < ${d.placeholder(2)}`;
    // The DELETE's own count: a COUNT before it would also see, or miss, calls created in between.
    return d.runCounted(`DELETE FROM ${d.quote(this.spec.name)} WHERE ${where}`, [start, end]);
  }
}
