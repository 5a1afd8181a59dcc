// Field names are column names, and Dialfire allows names a database cannot hold: longer than
// PostgreSQL's 63 bytes or MySQL's 64 characters, or with characters MySQL refuses. Such a name keeps
// as much of itself as fits and ends in a short hash of the whole, so it stays readable, stable
// across runs, and distinct from its neighbours.
import { md5Hex } from "../common/md5.ts";

/** How a database counts the length of a name. */
export type Measure = (name: string) => number;

const encoder = new TextEncoder();
export const utf8Bytes: Measure = (name) => encoder.encode(name).length;
export const characters: Measure = (name) => [...name].length;
export const utf16Units: Measure = (name) => name.length;

/**
 * `name` when it fits in `max` (as `measure` counts); otherwise the longest prefix of `base` (by
 * default the name itself; a dialect passes a cleaned-up form) that fits with `_` and 8 hex digits
 * of the name's md5.
 */
export function fitIdentifier(name: string, max: number, measure: Measure = utf8Bytes, base = name): string {
  if (base === name && measure(name) <= max) return name;
  return hashedIdentifier(name, max, measure, base);
}

/** Always the hashed form: for a second name that would otherwise take the same column. */
export function hashedIdentifier(name: string, max: number, measure: Measure = utf8Bytes, base = name): string {
  const suffix = `_${md5Hex(name).slice(0, 8)}`;
  let kept = "";
  for (const char of base) {
    if (measure(kept + char + suffix) > max) break;
    kept += char;
  }
  return kept + suffix;
}
