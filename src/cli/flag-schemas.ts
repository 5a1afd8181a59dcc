// The flags of every command, declared and checked the same way: flags arrive as text (from argv or
// the environment) and leave as numbers or trimmed text, or as one clear message naming the flag.
import * as v from "valibot";
import { UsageError } from "./argv.ts";
import { LOG_FORMATS } from "./logger.ts";

/** A flag that takes a value; numbers come as text too, for the schemas below to check. */
export function valueFlag(description: string, valueHint: string) {
  return { type: "string", description, valueHint } as const;
}

/** A flag that is given or not. */
export function switchFlag(description: string) {
  return { type: "boolean", description } as const;
}

/** Checks the flags against `schema`; the first problem found is the usage error, in its own words. */
export function parseFlags<T extends v.GenericSchema>(schema: T, flags: unknown): v.InferOutput<T> {
  const parsed = v.safeParse(schema, flags);
  if (!parsed.success) throw new UsageError(parsed.issues[0]?.message ?? "invalid flags");
  return parsed.output;
}

/** Text that must say something: `--x ""` (an empty variable, say) is a mistake, not the default. */
export function nonEmptyText(flag: string) {
  return v.pipe(v.string(), v.trim(), v.minLength(1, `--${flag} must not be empty`));
}

/** Text that must be given; `message` names the flag and says so (also when it is missing altogether). */
export function requiredText(message: string) {
  return v.pipe(v.string(message), v.trim(), v.minLength(1, message));
}

/** `--tp` becomes part of every table name: only characters no database needs quoted for. */
export const TABLE_PREFIX_SCHEMA = v.optional(
  v.pipe(v.string(), v.regex(/^[\p{L}\p{N}_$]*$/u, "--tp may contain letters, digits, _ and $ only")),
  "",
);

/** `--host` of a command that listens: loopback unless told otherwise. */
export const LISTEN_HOST_SCHEMA = v.optional(nonEmptyText("host"), "127.0.0.1");

/** How the commands that log write their lines, and how long their log files are kept. */
export const LOG_OUTPUT_FLAGS = {
  "log-format": valueFlag("Log lines as text (default) or json, one object per line for journald, Loki and the like", "text|json"),
  "log-keep-days": valueFlag(
    "Days log files are kept: dbsync's older ones in the log folder are deleted when a run starts (default 30; 0 keeps all)",
    "days",
  ),
} as const;

/** `--log-format` as written in a flag, a variable or `dbsync run`'s file (`name` says which). */
export function logFormat(name: string) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.toLowerCase(),
    v.picklist(LOG_FORMATS, (issue) => `${name} must be text or json (not "${String(issue.input)}")`),
  );
}

/** `--log-keep-days` as written in a flag, a variable or `dbsync run`'s file; ten years at most. */
export function logKeepDays(name: string) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, `${name} must be a whole number of days (0 keeps every log file)`),
    v.transform(Number),
    v.maxValue(3650, `${name} must be at most 3650 (ten years)`),
  );
}

/**
 * `--l` (0 = critical … 4 = info, the default … 5 = debug), `--v`, `--log-format` and `--log-keep-days`
 * of the commands that log. The last two stay undefined unless given (the logger's defaults apply), so
 * that settings compared between runs do not change with them.
 */
export const LOG_SCHEMA = {
  l: v.optional(wholeNumber("l", 0, 5), "4"),
  v: v.optional(v.boolean(), false),
  "log-format": v.optional(logFormat("--log-format")),
  "log-keep-days": v.optional(logKeepDays("--log-keep-days")),
};

export function wholeNumber(flag: string, min: number, max: number) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, `--${flag} must be a whole number`),
    v.transform(Number),
    v.minValue(min, `--${flag} must be at least ${min}`),
    v.maxValue(max, `--${flag} must be at most ${max}`),
  );
}

/** A non-negative decimal; `what` names it in the message (`a number of seconds`, say). */
export function decimal(flag: string, what: string, min: number, max: number, limits: { min?: string; max?: string } = {}) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+(\.\d+)?$/, `--${flag} must be ${what}`),
    v.transform(Number),
    v.minValue(min, `--${flag} must be ${limits.min ?? `at least ${min}`}`),
    v.maxValue(max, `--${flag} must be ${limits.max ?? `at most ${max}`}`),
  );
}
