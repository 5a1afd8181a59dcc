// A receiver that cannot be reached: the dead letter's error (what `dbsync webhook failed` shows)
// says why in our words, without the runtime's advice to its programmers.
import { afterAll, expect, test } from "bun:test";
import { CircuitBreaker } from "../src/core/webhook/circuit-breaker.ts";
import { RateLimiter } from "../src/core/webhook/rate-limit.ts";
import { openStateStore } from "../src/state/open.ts";
import { Deliverer } from "../src/core/webhook/delivery.ts";

/** Accepts the connection and closes it on the first bytes of the request. */
const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => void socket.end(), open: () => {} } });
afterAll(() => closing.stop(true));

test("a receiver that closes the connection or refuses it: the dead letters say so plainly", async () => {
  const state = await openStateStore(":memory:");
  const scope = { campaign: "C" };
  const receivers = { closed: `http://127.0.0.1:${closing.port}/hook`, refused: "http://127.0.0.1:1/hook" };
  for (const [name, url] of Object.entries(receivers)) {
    const candidate = {
      contactId: name,
      transactionId: `t-${name}`,
      hash: "h",
      history: false,
      fired: "2026-03-01T10:00:00.000Z",
      body: () => "{}",
    };
    await state.outbox.enqueue(scope, [candidate], [], { url, floor: undefined, signed: false });
  }
  const deliverer = new Deliverer({
    outbox: state.outbox,
    selection: { scope },
    attempts: 1,
    backoff: { baseMs: 10, maxMs: 10 },
    timeoutMs: 2000,
    concurrency: 2,
    rate: 100,
    limiter: new RateLimiter(100, 10),
    breaker: new CircuitBreaker({ openMs: 60_000 }),
    userAgent: "dbsync-test",
    log: { info: () => {}, warn: () => {} },
  });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  await deliverer.run(controller.signal, { done: async () => (await state.outbox.pendingCount({ scope })) === 0 });
  clearTimeout(timer);
  const errors = Object.fromEntries((await state.outbox.failed({})).map((entry) => [entry.contactId, entry.lastError]));
  await state.close();
  expect(errors).toEqual({
    closed: "cannot reach the receiver: the connection was closed by the other side",
    refused: "cannot reach the receiver: connection refused (nothing listens on that host and port)",
  });
});
