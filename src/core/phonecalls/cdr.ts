// Pieces of the phonecall replication from an Asterisk CDR table (the job of the Perl script that
// NiMbox's phonecalls documentation gives): destination rewriting as rules instead of the script's
// code, and the PBX's local `calldate` turned into a correct instant (the script wrote local times
// with a literal "Z"). Pure: no I/O; cdr-reader.ts reads the table.

/** One `--rewrite 'PATTERN=REPLACEMENT'`: a regular expression and a replacement with $1, $2, … */
export interface RewriteRule {
  pattern: RegExp;
  replacement: string;
}

export class CdrOptionError extends Error {
  override name = "CdrOptionError";
}

/**
 * `^9(\d{7})$=0212$1`: the pattern is everything before the last "=" (patterns may contain "=",
 * replacements of digits and $n never do), anchored as written.
 */
export function parseRewriteRule(raw: string): RewriteRule {
  const at = raw.lastIndexOf("=");
  if (at <= 0) throw new CdrOptionError(`--rewrite ${JSON.stringify(raw)} must be PATTERN=REPLACEMENT, e.g. '^9(\\d{7})$=0212$1'`);
  const source = raw.slice(0, at);
  const replacement = raw.slice(at + 1);
  let pattern: RegExp;
  try {
    pattern = new RegExp(source);
  } catch (error) {
    throw new CdrOptionError(`--rewrite ${JSON.stringify(raw)}: the pattern is no regular expression (${(error as Error).message})`);
  }
  const groups = new RegExp(`${source}|`).exec("")?.length ?? 1;
  for (const [, n] of replacement.matchAll(/\$(\d+)/g)) {
    if (Number(n) >= groups) throw new CdrOptionError(`--rewrite ${JSON.stringify(raw)}: $${n} names no group of the pattern`);
  }
  return { pattern, replacement };
}

/** The first rule whose pattern matches rewrites the number; none matching leaves it as it is. */
export function rewriteDestination(rules: readonly RewriteRule[], destination: string): string {
  for (const rule of rules) {
    if (rule.pattern.test(destination)) return destination.replace(rule.pattern, rule.replacement);
  }
  return destination;
}

/** Checks a time zone name (IANA, e.g. America/Caracas) the runtime knows. */
export function checkTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch {
    throw new CdrOptionError(`unknown time zone ${JSON.stringify(zone)}: give an IANA name such as Europe/Berlin or America/Caracas`);
  }
}

const PARTS = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in `zone` at `instant`, as "YYYY-MM-DD HH:MM:SS" (how MySQL writes DATETIME). */
export function wallTime(instant: Date, zone: string): string {
  let format = PARTS.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    PARTS.set(zone, format);
  }
  const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`;
}

/**
 * The instant of a wall-clock time in `zone`. In the hour repeated when DST ends, the first of the
 * two is taken; a time in the hour skipped when it begins does not exist, and an instant within an
 * hour of it is given (which one depends on the zone).
 */
export function zonedInstant(wall: string, zone: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(wall.trim());
  if (!match) throw new CdrOptionError(`not a date and time: ${JSON.stringify(wall)}`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const asUtc = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  const offsetAt = (ms: number) => Date.parse(`${wallTime(new Date(ms), zone).replace(" ", "T")}Z`) - ms;
  // The offset one day before and after the guess: the first one that maps back to `wall` wins.
  for (const offset of [offsetAt(asUtc - 86_400_000), offsetAt(asUtc + 86_400_000)].sort((a, b) => b - a)) {
    const candidate = asUtc - offset;
    if (wallTime(new Date(candidate), zone) === wallTime(new Date(asUtc), "UTC")) return new Date(candidate);
  }
  return new Date(asUtc - offsetAt(asUtc));
}

/** The recording link of a CDR row: `{channel}`, `{recordingfile}`, `{uniqueid}` … filled in, escaped. */
export function recordingUrl(template: string, row: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(row[name] ?? "")));
}
