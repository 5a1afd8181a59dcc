// A phone call as NiMbox's phonecalls web service ("Servicios Web - Llamadas") takes it: the checks
// of its create and delete parameters, and the id derived from its unique key (initiated, source,
// destination). The calls are stored by store.ts, created with their contact by service.ts.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import * as v from "valibot";
import { parseDateTime } from "../common/date-time.ts";
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
    from: v.pipe(
      required("from", ": a date without time, e.g. 2012-08-23"),
      v.check(isDay, "from must be a date without time, e.g. 2012-08-23"),
    ),
    to: v.pipe(required("to", ": a date without time, e.g. 2012-08-23"), v.check(isDay, "to must be a date without time, e.g. 2012-08-23")),
  }),
  v.forward(
    v.check(({ from, to }) => from < to, "to must be after from"),
    ["to"],
  ),
);

/** The parameters a create reads (besides the token), for the route's description to name each one. */
export type CreateParameter = keyof typeof CreateSchema.entries;
/** The parameters a delete reads (besides the token). */
export type DeleteParameter = keyof (typeof DeleteSchema)["pipe"][0]["entries"];

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

/** A delete's range: both days exclusive, as NiMbox's service defines it; calls of the days in between go. */
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

/** The call as the service's parameters: text, as a form or a query string carries them. */
export function callParams(call: NewPhonecall): Record<string, string> {
  const params: Record<string, string> = { initiated: call.initiated, source: call.source, destination: call.destination };
  if (call.duration !== undefined) params.duration = String(call.duration);
  if (call.url) params.url = call.url;
  return params;
}
