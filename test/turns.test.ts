// Turns: at most so many pieces of work at once, the rest in order, and a waiter that is stopped
// leaves the line without taking a turn.
import { describe, expect, test } from "bun:test";
import { Turns } from "../src/core/common/turns.ts";

describe("turns", () => {
  test("at most `size` at once, the others in the order they came", async () => {
    const turns = new Turns(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        turns.run(async () => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          await Bun.sleep(5);
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("a failure gives the turn back", async () => {
    const turns = new Turns(1);
    await expect(turns.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await turns.run(async () => "next")).toBe("next");
  });

  test("a waiter whose signal aborts leaves the line; the others keep their turns", async () => {
    const turns = new Turns(1);
    let release = () => {};
    const first = turns.run(() => new Promise<void>((resolve) => (release = resolve)));
    const stop = new AbortController();
    const leaving = turns.run(async () => "should not run", stop.signal);
    const third = turns.run(async () => "third");
    stop.abort(new Error("stopped"));
    await expect(leaving).rejects.toThrow("stopped");
    release();
    await first;
    expect(await third).toBe("third");
  });

  test("work stopped while it runs gives its turn to the next at once, even if it hangs", async () => {
    const turns = new Turns(1);
    const stop = new AbortController();
    let started = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const hanging = turns.run(() => {
      started();
      return new Promise<void>(() => {});
    }, stop.signal);
    const next = turns.run(async () => "next");
    await running;
    stop.abort(new Error("stopped"));
    expect(await next).toBe("next");
    void hanging;
  });
});
