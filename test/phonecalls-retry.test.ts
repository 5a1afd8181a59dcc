// The one retry loop of `phonecalls push` (HTTP and database alike): an outcome ends it, what may go
// better later is tried again a bounded number of times, and a wait the other side asked for is kept;
// and what the database sender reports of a call the service refuses.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { backoffMs } from "../src/core/common/retry.ts";
import { databaseSender, SEND_RETRY, type SendTry, sendWithRetries } from "../src/core/phonecalls/push.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { openDialect } from "../src/dialects/index.ts";
import { tempDir } from "./helpers/run.ts";

/** Short waits; a Retry-After is kept up to four times maxMs. */
const QUICK = { attempts: 3, baseMs: 1, maxMs: 100 };

function tries(...answers: SendTry[]) {
  let n = 0;
  const attempt = async () => answers[Math.min(n++, answers.length - 1)] as SendTry;
  return { attempt, count: () => n };
}

describe("sendWithRetries", () => {
  test("an outcome at the first try is returned as it is, without another try", async () => {
    for (const outcome of [
      { kind: "created" },
      { kind: "present" },
      { kind: "rejected", reason: "x: y" },
      { kind: "failed", error: "HTTP 404" },
    ] as const) {
      const t = tries(outcome);
      expect(await sendWithRetries(t.attempt, new AbortController().signal, QUICK)).toEqual(outcome);
      expect(t.count()).toBe(1);
    }
  });

  test("tried again until an outcome comes", async () => {
    const t = tries({ kind: "again", error: "HTTP 502" }, { kind: "again", error: "HTTP 503" }, { kind: "created" });
    expect(await sendWithRetries(t.attempt, new AbortController().signal, QUICK)).toEqual({ kind: "created" });
    expect(t.count()).toBe(3);
  });

  test("after the last try: failed, with the last reason", async () => {
    const t = tries({ kind: "again", error: "HTTP 502" }, { kind: "again", error: "cannot reach pbx: refused" });
    expect(await sendWithRetries(t.attempt, new AbortController().signal, QUICK)).toEqual({
      kind: "failed",
      error: "cannot reach pbx: refused",
    });
    expect(t.count()).toBe(3);
  });

  test("the wait the other side asked for is kept", async () => {
    const t = tries({ kind: "again", error: "HTTP 503", retryAfterMs: 300 }, { kind: "present" });
    const started = performance.now();
    expect(await sendWithRetries(t.attempt, new AbortController().signal, QUICK)).toEqual({ kind: "present" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  test("push waits as long as the service asks, up to a minute", () => {
    for (const attempt of [0, 1, 2]) {
      expect(backoffMs(SEND_RETRY, attempt, 45_000)).toBe(45_000);
      expect(backoffMs(SEND_RETRY, attempt, 120_000)).toBe(60_000);
    }
  });

  test("a stop during the wait ends it with the stop's reason", async () => {
    const stop = new AbortController();
    const t = tries({ kind: "again", error: "HTTP 503", retryAfterMs: 10_000 });
    setTimeout(() => stop.abort(new Error("stopped")), 20);
    await expect(sendWithRetries(t.attempt, stop.signal, QUICK)).rejects.toThrow("stopped");
  });
});

describe("databaseSender", () => {
  test("an ambiguous number is reported as the fact, without the web service's advice to its caller", async () => {
    const url = `file:${join(tempDir("push-ambiguous"), "contacts.db")}`;
    const setup = await openDialect(url);
    const target = new SqlTarget(setup, "");
    await target.prepare([]);
    await target.write({
      contacts: [
        { $id: "c-berlin", $md5: "m", $changed: "2026-01-01T00:00:00Z", $phone: "+49 30 1290274" },
        { $id: "c-hamburg", $md5: "m", $changed: "2026-01-01T00:00:00Z", $phone: "+49 40 1290274" },
      ],
    });
    await target.close();
    const dialect = await openDialect(url);
    try {
      const send = databaseSender(dialect, "", new AbortController().signal);
      const call = { initiated: "2026-01-02T10:00:00.000Z", source: "7222", destination: "1290274" };
      expect(await send(call)).toEqual({ kind: "rejected", reason: "destination: several contacts have this number" });
    } finally {
      await dialect.close();
    }
  });
});
