// The listing's read-ahead: bounded, in order, and never taking a failure or a stop for the end.
import { describe, expect, test } from "bun:test";
import { readAhead } from "../src/core/sync/read-ahead.ts";

/** Pages 0, 1, … count-1, each after `delayMs`; fails instead of page `failAt`. Records what it was asked. */
function pages(count: number, options: { failAt?: number; delayMs?: number } = {}) {
  const seen = { read: 0, aborted: false };
  async function* open(signal: AbortSignal): AsyncGenerator<number> {
    signal.addEventListener("abort", () => (seen.aborted = true));
    for (let i = 0; i < count; i++) {
      await Bun.sleep(options.delayMs ?? 0);
      if (i === options.failAt) throw new Error(`page ${i} failed`);
      seen.read++;
      yield i;
    }
  }
  return { open, seen };
}

describe("readAhead", () => {
  test("every item in order; reads at most `limit` ahead of the consumer; says when the end was read", async () => {
    const { open, seen } = pages(20);
    const ends: number[] = [];
    const got: number[] = [];
    let aheadAtMost = 0;
    for await (const page of readAhead(open, 3, new AbortController().signal, { onEnd: () => ends.push(got.length) })) {
      await Bun.sleep(5); // a slow consumer: the reader runs ahead
      aheadAtMost = Math.max(aheadAtMost, seen.read - got.length);
      got.push(page);
    }
    expect(got).toEqual([...Array(20).keys()]);
    expect(aheadAtMost).toBeLessThanOrEqual(4); // the queue's 3 and the one being consumed
    expect(aheadAtMost).toBeGreaterThan(1);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toBeLessThan(20); // known before the last item was consumed
  });

  test("a failure comes after the items read before it, and is no end", async () => {
    const { open } = pages(10, { failAt: 4 });
    let ended = false;
    const got: number[] = [];
    const outcome = await (async () => {
      for await (const page of readAhead(open, 100, new AbortController().signal, { onEnd: () => (ended = true) })) got.push(page);
    })().catch((error: Error) => error.message);
    expect(got).toEqual([0, 1, 2, 3]);
    expect(outcome).toBe("page 4 failed");
    expect(ended).toBe(false);
  });

  test("a stopped run ends the consumer with the abort, never as if the sequence had ended", async () => {
    const { open, seen } = pages(1000, { delayMs: 2 });
    const controller = new AbortController();
    let ended = false;
    const got: number[] = [];
    const outcome = await (async () => {
      for await (const page of readAhead(open, 5, controller.signal, { onEnd: () => (ended = true) })) {
        got.push(page);
        if (got.length === 3) controller.abort(new Error("stopped"));
      }
      return "ended";
    })().catch((error: Error) => error.message);
    expect(outcome).toBe("stopped");
    expect(ended).toBe(false);
    expect(seen.aborted).toBe(true);
  });

  test("a consumer that stops early (its own failure) stops the reading", async () => {
    const { open, seen } = pages(1000, { delayMs: 1 });
    for await (const page of readAhead(open, 5, new AbortController().signal)) if (page === 2) break;
    const readWhenStopped = seen.read;
    await Bun.sleep(50);
    expect(seen.aborted).toBe(true);
    expect(seen.read).toBe(readWhenStopped);
  });
});
