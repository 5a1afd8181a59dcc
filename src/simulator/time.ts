// The client sends `from`/`to`/`changedSince` in several shapes, all meant as UTC.

const API_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Milliseconds since the epoch for `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.f…]]` with an optional `Z`
 * or offset; no zone means UTC. Fractions beyond milliseconds are cut off. `undefined` when the text
 * is not such a timestamp or names a day that does not exist.
 */
export function parseApiTimestamp(text: string): number | undefined {
  const m = API_TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, year, month, day, hour = "0", minute = "0", second = "0", fraction = "", zone] = m;
  const ms = Number(fraction.padEnd(3, "0").slice(0, 3));
  const utc = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second, ms);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== +year ||
    check.getUTCMonth() !== +month - 1 ||
    check.getUTCDate() !== +day ||
    +hour > 23 ||
    +minute > 59 ||
    +second > 59
  ) {
    return undefined;
  }
  return utc - zoneOffsetMs(zone);
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || zone === "Z") return 0;
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/** The API's own timestamp format: `2024-03-04T09:02:40.118Z` (fixed width, so it sorts as text). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
