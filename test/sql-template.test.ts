// The SQL template: names quoted and parameters numbered by the dialect rendered for, values never
// in the text, fragments nested in any order keeping one numbering.
import { describe, expect, test } from "bun:test";
import { join, name, names, raw, sql, values } from "../src/core/sql/template.ts";

const postgres = { quote: (n: string) => `"${n.replaceAll('"', '""')}"`, placeholder: (n: number) => `$${n}` };
const mysql = { quote: (n: string) => `\`${n.replaceAll("`", "``")}\``, placeholder: () => "?" };

describe("sql template", () => {
  test("values become numbered parameters, names are quoted", () => {
    const q = sql`SELECT ${name("a b")} FROM ${name('we"ird')} WHERE ${name("id")} = ${"x'; DROP"} AND ${name("n")} > ${3}`;
    expect(q.render(postgres)).toEqual([`SELECT "a b" FROM "we""ird" WHERE "id" = $1 AND "n" > $2`, ["x'; DROP", 3]]);
    expect(q.render(mysql)).toEqual(['SELECT `a b` FROM `we"ird` WHERE `id` = ? AND `n` > ?', ["x'; DROP", 3]]);
  });

  test("nested fragments and lists keep one numbering", () => {
    const upper = sql` AND ${name("key")} < ${"z"}`;
    const q = sql`DELETE FROM ${name("t")} WHERE ${name("k")} >= ${"a"}${upper} OR ${name("k")} IN (${values(["p", "q", null])})`;
    expect(q.render(postgres)).toEqual([
      `DELETE FROM "t" WHERE "k" >= $1 AND "key" < $2 OR "k" IN ($3, $4, $5)`,
      ["a", "z", "p", "q", null],
    ]);
  });

  test("column lists, joins and raw text", () => {
    const q = sql`INSERT INTO ${name("t")} (${names(["a", "b"])}) VALUES (${values([1, true])}) ${raw("LIMIT 5")}`;
    expect(q.render(postgres)).toEqual([`INSERT INTO "t" ("a", "b") VALUES ($1, $2) LIMIT 5`, [1, true]]);
    const where = join([sql`${name("a")} = ${1}`, sql`${name("b")} = ${2}`], " AND ");
    expect(sql`WHERE ${where}`.render(mysql)).toEqual(["WHERE `a` = ? AND `b` = ?", [1, 2]]);
  });

  test("an empty list renders nothing, and a fragment can be rendered again", () => {
    const q = sql`x${values([])}y`;
    expect(q.render(postgres)).toEqual(["xy", []]);
    expect(q.render(postgres)).toEqual(["xy", []]);
  });
});
