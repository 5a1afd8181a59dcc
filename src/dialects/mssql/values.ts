// Values as SQL Server is given them: every parameter bound as NVARCHAR text (see sql.ts for why).
import { TargetError, type SqlValue } from "../../core/sql/dialect.ts";
import type { MssqlParam } from "./driver.ts";

/** `@p1 … @pN` with each value as the text SQL Server converts to the column's type. */
export function bindValues(params: readonly SqlValue[]): MssqlParam[] {
  return params.map((value, i) => ({ name: `p${i + 1}`, value: parameterText(value) }));
}

/** Text of a value as bound: strings as they are, numbers as exact decimals, booleans as "1"/"0". */
export function parameterText(value: SqlValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return decimalText(value);
  throw new TargetError(`cannot bind a value of type ${typeof value}`);
}

/** A number as plain decimal text, never in exponent form (which SQL Server would not read as a decimal). */
export function decimalText(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = "", exponent] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
