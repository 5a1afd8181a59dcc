// The checks of a call's parameters in the core, which the web service and `dbsync phonecalls push`
// straight into a database share: text no database keeps as sent never reaches the unique key.
import { describe, expect, test } from "bun:test";
import { checkCreate, checkDelete } from "../src/core/phonecalls/phonecalls.ts";

const CALL = { initiated: "2012-08-23T12:20:33", source: "7222", destination: "+49 30 1234567" };

describe("phonecall checks", () => {
  test("NUL, control characters and unpaired surrogates in any parameter: refused, naming it", () => {
    for (const value of ["\u0000", "\u001f", "\u007f", "\u009f", "\ud800", "\udc00"]) {
      for (const field of ["source", "destination", "initiated", "url", "duration"] as const) {
        const base = { ...CALL, duration: "45", url: "https://pbx.example.com/r" };
        const checked = checkCreate({ ...base, [field]: `${base[field]}${value}` });
        expect({ value, field, errors: checked.ok ? {} : Object.keys(checked.errors) }).toEqual({ value, field, errors: [field] });
      }
      const range = checkDelete({ from: "2012-08-23", to: `2012-08-26${value}` });
      expect(range.ok ? {} : range.errors).toEqual({ to: expect.stringMatching(/^to /) });
    }
  });

  test("the same text without them passes, and a space inside a number stays", () => {
    const checked = checkCreate({ ...CALL, source: "72 22" });
    expect(checked.ok && checked.value).toEqual({ initiated: "2012-08-23T12:20:33.000Z", source: "72 22", destination: "+49 30 1234567" });
  });
});
