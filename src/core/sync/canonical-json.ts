// `$md5` must change with any modification but not with the order in which keys happen to have been
// set, so it is computed over JSON with keys sorted at every level. The output equals
// JSON.stringify of the same value with sorted keys; the shortcuts below only make it faster
// (it runs over every contact of a listed campaign).
import { isRawJson } from "../common/exact-json.ts";

/** Characters JSON.stringify would escape (and surrogates, which it may): leave those strings to it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON.stringify escapes, so the check must match them
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;
const quotedKeys = new Map<string, string>();

export function canonicalJson(value: unknown, omitTopLevelKey?: string): string {
  if (typeof value === "string") return NEEDS_ESCAPING.test(value) ? JSON.stringify(value) : `"${value}"`;
  if (value === null || typeof value !== "object" || isRawJson(value)) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = "{";
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (key === omitTopLevelKey || item === undefined) continue;
    let quoted = quotedKeys.get(key);
    if (quoted === undefined) {
      quoted = `${JSON.stringify(key)}:`;
      if (quotedKeys.size < 10_000) quotedKeys.set(key, quoted);
    }
    out += (out.length > 1 ? "," : "") + quoted + canonicalJson(item);
  }
  return `${out}}`;
}
