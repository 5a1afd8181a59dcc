// Dates and times as callers write them in ISO 8601: strict about the form (a whole date and a time
// of day, a real calendar day), tolerant of the usual spellings of the zone.

/**
 * `2012-08-23T12:20:33` with optional seconds, fraction and zone (`Z`, `+02:00`, `+0200`, `-05`),
 * a space instead of the `T`; without a zone it is UTC. The instant in ISO form with milliseconds,
 * or undefined when `raw` is not such a date and time.
 */
export function parseDateTime(raw: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(raw.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s = "00", frac = "", zone = "Z"] = match;
  const offset = zone === "Z" ? "Z" : zone.length === 3 ? `${zone}:00` : zone.replace(/^([+-]\d{2})(\d{2})$/, "$1:$2");
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(3, "0").slice(0, 3)}${offset}`);
  const calendar = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const exists = calendar.getUTCMonth() === Number(mo) - 1 && calendar.getUTCDate() === Number(d);
  return Number.isNaN(date.getTime()) || !exists || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59 ? undefined : date.toISOString();
}
