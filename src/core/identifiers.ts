// Field names are column names, and Dialfire allows names longer than PostgreSQL (63 bytes) or MySQL
// (64 characters) do. A name that does not fit keeps as much of itself as fits and ends in a short
// hash of the whole, so it stays readable, stable across runs, and distinct from its neighbours.
import { md5Hex } from "./md5.ts";

const encoder = new TextEncoder();

export function fitIdentifier(name: string, maxBytes: number): string {
  if (encoder.encode(name).length <= maxBytes) return name;
  const suffix = `_${md5Hex(name).slice(0, 8)}`;
  let kept = "";
  let bytes = 0;
  for (const char of name) {
    const size = encoder.encode(char).length;
    if (bytes + size > maxBytes - suffix.length) break;
    kept += char;
    bytes += size;
  }
  return kept + suffix;
}
