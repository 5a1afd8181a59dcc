// One suite for the connection failures every server dialect must report alike (PostgreSQL, MySQL):
// each driver's test file calls it with URLs that fail and the words its server uses.
import { describe, expect, test } from "bun:test";
import { TargetError, type Dialect } from "../src/core/sql/dialect.ts";
import { rejectedWith } from "./helpers/expect.ts";

/** How a failure's message must read; the server's own words differ per database. */
export interface ExpectedMessage {
  startsWith?: string;
  contains?: string;
  endsWith?: string;
}

export interface ConnectionFailureCases {
  /** A URL of a port nothing listens on, with a password, and the whole message it must give. */
  unreachable: { url: string; message: string };
  /** A URL with a wrong password, which must never show in the message. */
  wrongPassword: { url: string; password: string } & ExpectedMessage;
  /** A URL naming a database that does not exist. */
  missingDatabase: { url: string } & ExpectedMessage;
}

function expectMessage(message: string, expected: ExpectedMessage): void {
  if (expected.startsWith !== undefined) expect(message).toStartWith(expected.startsWith);
  if (expected.contains !== undefined) expect(message).toContain(expected.contains);
  if (expected.endsWith !== undefined) expect(message).toEndWith(expected.endsWith);
}

export function runConnectionFailureConformance(
  name: string,
  open: (url: string) => Promise<Dialect>,
  cases: () => ConnectionFailureCases,
): void {
  const rejection = (promise: Promise<unknown>) => rejectedWith(promise, TargetError);

  describe(`${name} connection failures`, () => {
    test("an unreachable server fails at open within seconds: one line, transient, no password", async () => {
      const { url, message } = cases().unreachable;
      const started = Date.now();
      const error = await rejection(open(url));
      expect(Date.now() - started).toBeLessThan(6000);
      expect(error.message).toBe(message);
      expect(error.transient).toBe(true);
    });

    test("a wrong password fails at open: one line, permanent, without the password", async () => {
      const { url, password, ...expected } = cases().wrongPassword;
      const error = await rejection(open(url));
      expectMessage(error.message, expected);
      expect(error.message).not.toContain(password);
      expect(error.message).not.toContain("\n");
      expect(error.transient).toBe(false);
    });

    test("a missing database fails at open, permanently", async () => {
      const { url, ...expected } = cases().missingDatabase;
      const error = await rejection(open(url));
      expectMessage(error.message, expected);
      expect(error.transient).toBe(false);
    });
  });
}
