// Exact numbers from the API: the fast plain parse is taken only where it gives the same values.
import { describe, expect, test } from "bun:test";
import { isRawJson, parseJsonExact } from "../src/core/common/exact-json.ts";

const raw = (value: unknown) => (isRawJson(value) ? `raw:${value.rawJSON}` : value);
const flat = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(flat)
    : value && typeof value === "object" && !isRawJson(value)
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flat(v)]))
      : raw(value);

describe("parseJsonExact", () => {
  test("numbers beyond 15 digits keep their text wherever they stand", () => {
    expect(raw(parseJsonExact("12345678901234567"))).toBe("raw:12345678901234567");
    expect(flat(parseJsonExact('{"a":9007199254740993,"b":[1, 0.12345678901234567],"c": -1234567890.1234567}'))).toEqual({
      a: "raw:9007199254740993",
      b: [1, "raw:0.12345678901234567"],
      c: "raw:-1234567890.1234567",
    });
    expect(flat(parseJsonExact("[\n  1.5e300,\n  123456789012345678e2\n]"))).toEqual([1.5e300, "raw:123456789012345678e2"]);
  });

  test("long digit runs inside strings and short numbers parse plainly, to the same values", () => {
    const text =
      '{"phone":"+49 1234567890123456","md5":"0123456789012345678abc","n":123456789012345,"f":0.5,"t":"2026-11-22T10:00:00.000Z"}';
    expect(parseJsonExact(text)).toEqual(JSON.parse(text));
  });

  test("random documents: the result equals the reviver's everywhere", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 300; i++) {
      const digitsOf = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join("");
      const whole = next() < 0.2 ? "0" : `${Math.floor(next() * 9) + 1}${digitsOf(Math.floor(next() * 19))}`;
      const fraction = next() < 0.4 ? `.${digitsOf(1 + Math.floor(next() * 18))}` : "";
      const dotted = `${next() < 0.5 ? "-" : ""}${whole}${fraction}`;
      const number = dotted.replace(/[-.]/g, "");
      const text = `{"x":[${dotted}],"s":"${number}"}`;
      const value = flat(parseJsonExact(text)) as { x: unknown[] };
      // as the reviver decides: an integer that is not safe, a decimal of more than 15 digits
      const exact = dotted.includes(".") ? dotted.replace(/^-?0*|[.]/g, "").length > 15 : !Number.isSafeInteger(Number(dotted));
      expect(value.x[0]).toEqual(exact ? `raw:${dotted}` : JSON.parse(dotted));
    }
  });
});
