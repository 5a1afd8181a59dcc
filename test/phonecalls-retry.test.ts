// The one retry loop of `phonecalls push` (HTTP and database alike): an outcome ends it, what may go
// better later is tried again a bounded number of times, and a wait the other side asked for is kept.
import { describe, expect, test } from "bun:test";
import { type SendTry, sendWithRetries } from "../src/core/phonecalls/push.ts";

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

  test("a stop during the wait ends it with the stop's reason", async () => {
    const stop = new AbortController();
    const t = tries({ kind: "again", error: "HTTP 503", retryAfterMs: 10_000 });
    setTimeout(() => stop.abort(new Error("stopped")), 20);
    await expect(sendWithRetries(t.attempt, stop.signal, QUICK)).rejects.toThrow("stopped");
  });
});
