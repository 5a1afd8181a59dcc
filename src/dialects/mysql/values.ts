// Values go to MySQL as literals in the statement's text (see connection.ts for why), escaped here so
// that every sql_mode reads them the same way. Values are still never part of the SQL a dialect builds.
import { TargetError, type SqlValue } from "../../core/sql/dialect.ts";

/**
 * The statement with each `?` outside quotes, backticks and comments replaced by its value as a
 * literal. Strings are quoted by doubling `'`, which every sql_mode reads the same way; a string
 * holding a backslash or NUL (whose meaning depends on NO_BACKSLASH_ESCAPES) goes as hex instead.
 */
export function format(sql: string, params: readonly SqlValue[]): string {
  if (params.length === 0 && !sql.includes("?")) return sql;
  let out = "";
  let next = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "`" || c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "#" || (c === "-" && sql.startsWith("-- ", i)) || (c === "/" && sql[i + 1] === "*")) {
      const end = c === "/" ? sql.indexOf("*/", i + 2) + 2 : sql.indexOf("\n", i) + 1;
      const stop = end <= 1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "?") {
      if (next >= params.length) throw new TargetError(`the statement has more placeholders than the ${params.length} values given`);
      out += literal(params[next++]);
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (next !== params.length) throw new TargetError(`the statement has ${next} placeholders but ${params.length} values were given`);
  return out;
}

/** The index just past the quote that closes the one at `start` (doubled quotes stay inside). */
function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === "\\" && quote !== "`") i += 2;
    else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

export function literal(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : `'${String(value)}'`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL byte, like a backslash, must be sent as a hex literal, so the test has to match it
  if (/[\\\u0000]/.test(value)) return `_utf8mb4 X'${Buffer.from(value, "utf8").toString("hex")}'`;
  return `'${value.replaceAll("'", "''")}'`;
}
