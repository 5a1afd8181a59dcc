// The pure parts of the phonecall replication: destination rules and the PBX's local time.
import { describe, expect, test } from "bun:test";
import {
  CdrOptionError,
  checkTimeZone,
  parseRewriteRule,
  recordingUrl,
  rewriteDestination,
  wallTime,
  zonedInstant,
} from "../src/core/phonecalls/cdr.ts";

describe("destination rewriting", () => {
  // The Perl script's convertDestination as two rules, as the README documents it.
  const rules = [parseRewriteRule("^9(\\d{7})$=0212$1"), parseRewriteRule("^9(.*)$=$1")];

  test("reproduces the script: 9 + 7 digits gets Caracas' area code, 9 + more loses the 9, others stay", () => {
    expect(rewriteDestination(rules, "92853348")).toBe("02122853348");
    expect(rewriteDestination(rules, "904141234567")).toBe("04141234567");
    expect(rewriteDestination(rules, "02122853348")).toBe("02122853348");
    expect(rewriteDestination(rules, "9")).toBe("");
  });

  test("the first matching rule wins; a pattern may contain '='", () => {
    const withEquals = parseRewriteRule("^(a=b)$=x$1");
    expect(rewriteDestination([withEquals], "a=b")).toBe("xa=b");
    expect(rewriteDestination([parseRewriteRule("^0=+49"), parseRewriteRule("^0=X")], "0301")).toBe("+49301");
  });

  test("bad rules are refused with a message naming the rule", () => {
    expect(() => parseRewriteRule("no-equals")).toThrow(CdrOptionError);
    expect(() => parseRewriteRule("=x")).toThrow("PATTERN=REPLACEMENT");
    expect(() => parseRewriteRule("^(9=x")).toThrow("no regular expression");
    expect(() => parseRewriteRule("^9(\\d)$=$2")).toThrow("$2 names no group");
  });
});

describe("local time of the PBX", () => {
  test("a calldate of Caracas is the instant hours later in UTC (not a literal Z), with the offset of its day", () => {
    // Venezuela was UTC-4:30 from 2007 to 2016, UTC-4 since: the zone data knows.
    expect(zonedInstant("2012-08-23 12:20:33", "America/Caracas").toISOString()).toBe("2012-08-23T16:50:33.000Z");
    expect(zonedInstant("2020-08-23 12:20:33", "America/Caracas").toISOString()).toBe("2020-08-23T16:20:33.000Z");
    expect(zonedInstant("2026-07-01 12:00:00", "Europe/Berlin").toISOString()).toBe("2026-07-01T10:00:00.000Z");
    expect(zonedInstant("2026-01-01 12:00:00", "Europe/Berlin").toISOString()).toBe("2026-01-01T11:00:00.000Z");
    expect(zonedInstant("2026-01-01 12:00:00", "UTC").toISOString()).toBe("2026-01-01T12:00:00.000Z");
  });

  test("daylight saving: the repeated hour is its first occurrence; the skipped hour gets the later offset", () => {
    expect(zonedInstant("2026-10-25 02:30:00", "Europe/Berlin").toISOString()).toBe("2026-10-25T00:30:00.000Z");
    expect(zonedInstant("2026-10-25 03:30:00", "Europe/Berlin").toISOString()).toBe("2026-10-25T02:30:00.000Z");
    // 02:30 does not exist that night: read with the later offset, as a clock not yet put forward shows it
    expect(zonedInstant("2026-03-29 02:30:00", "Europe/Berlin").toISOString()).toBe("2026-03-29T00:30:00.000Z");
  });

  test("wallTime is the inverse, in MySQL's DATETIME shape", () => {
    const instant = new Date("2026-11-22T15:00:00Z");
    for (const zone of ["America/Caracas", "Europe/Berlin", "Asia/Kolkata", "UTC"]) {
      expect(zonedInstant(wallTime(instant, zone), zone).toISOString()).toBe(instant.toISOString());
    }
    expect(wallTime(instant, "Asia/Kolkata")).toBe("2026-11-22 20:30:00");
  });

  test("unknown zones and malformed times are refused", () => {
    expect(checkTimeZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(() => checkTimeZone("Mars/Olympus")).toThrow("unknown time zone");
    expect(() => zonedInstant("23.08.2012 12:20", "UTC")).toThrow(CdrOptionError);
  });
});

test("recording links from a template, values escaped", () => {
  expect(recordingUrl("http://pbx/recordings/{channel}", { channel: "SIP/7222-0000a1b2" })).toBe(
    "http://pbx/recordings/SIP%2F7222-0000a1b2",
  );
  expect(recordingUrl("http://pbx/rec/{recordingfile}?id={uniqueid}", { recordingfile: "a b.wav", uniqueid: "1345.7" })).toBe(
    "http://pbx/rec/a%20b.wav?id=1345.7",
  );
});
