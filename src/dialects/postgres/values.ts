// How values travel to PostgreSQL and back: as text of unknown type, which the server reads as the
// column's type.
import type { ParameterOrJSON } from "postgres";
import type { SqlValue } from "../../core/sql/dialect.ts";

/**
 * Every value goes as text of unknown type, so PostgreSQL reads it as the column's type: numbers stay
 * exact, booleans are "1"/"0" (what the original stored, valid for boolean, numeric and text
 * columns). PostgreSQL text cannot hold NUL characters; they are left out.
 */
export function toParameter(value: SqlValue): ParameterOrJSON<never> {
  if (value === null) return null;
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return String(value);
  return value.includes("\u0000") ? value.replaceAll("\u0000", "") : value;
}

/**
 * postgres.js serializes a parameter by the type the server describes for it. Ours are text (or
 * "1"/"0" for booleans, see toParameter), which its defaults would mangle for boolean, json and
 * date columns (a table may have such columns of the user's own); these hand the text on as it is.
 * Read back, json and dates stay text as well.
 */
export const TEXT_FRIENDLY_TYPES = {
  bool: {
    to: 16,
    from: [16],
    serialize: (x: unknown) => (x === true ? "t" : x === false ? "f" : String(x)),
    parse: (x: string) => x === "t",
  },
  json: { to: 114, from: [114, 3802], serialize: (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x)), parse: (x: string) => x },
  date: {
    to: 1184,
    from: [1082, 1114, 1184],
    serialize: (x: unknown) => (x instanceof Date ? x.toISOString() : String(x)),
    parse: (x: string) => x,
  },
} as unknown as Record<string, never>;
