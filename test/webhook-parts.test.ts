// The small parts of webhook mode, each on its own: the circuit breaker and the rate limiter (with a
// fake clock), the wait between attempts, Standard Webhooks secrets and signatures (checked with the
// independent `standardwebhooks` package), the deliveries webhookCandidates makes of a contact, and
// the Deliverer against a real state store and a real HTTP receiver on 127.0.0.1.
import { afterEach, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { CircuitBreaker } from "../src/core/webhook/circuit-breaker.ts";
import { parseJsonExact } from "../src/core/common/exact-json.ts";
import { md5Hex } from "../src/core/common/md5.ts";
import type { OutboxCandidate } from "../src/core/webhook/outbox.ts";
import { RateLimiter } from "../src/core/webhook/rate-limit.ts";
import type { Contact } from "../src/core/sync/source.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { Deliverer, type DelivererOptions, retryWaitMs } from "../src/core/webhook/delivery.ts";
import { parseWebhookSecret, signWebhook, WebhookSecretError } from "../src/core/webhook/signature.ts";
import { webhookCandidates } from "../src/core/webhook/sink.ts";

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Whether `promise` settles within `ms` of real time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol("pending");
  const outcome = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise((resolve) => setTimeout(() => resolve(marker), ms)),
  ]);
  return outcome !== marker;
}

describe("CircuitBreaker", () => {
  /**
   * With a window of 3 outcomes, all of them failures to open: it opens at 3 failures in a row, and
   * a success among the last 3 keeps it closed.
   */
  function breaker(options: { window?: number; minimumCalls?: number; failureRatio?: number } = {}) {
    const clock = fakeClock();
    const events: string[] = [];
    const b = new CircuitBreaker({
      window: 3,
      minimumCalls: 3,
      failureRatio: 1,
      openMs: 1000,
      maxOpenMs: 3000,
      ...options,
      now: clock.now,
      onOpen: (failures, openMs) => events.push(`open ${failures} ${openMs}`),
      onClose: () => events.push("close"),
    });
    return { b, clock, events };
  }

  /** Fails `n` times, each after an allowed request. */
  function fail(b: CircuitBreaker, n: number): void {
    for (let i = 0; i < n; i++) {
      expect(b.allow()).toBe(true);
      b.failure();
    }
  }

  test("stays closed below the threshold", () => {
    const { b, events } = breaker();
    fail(b, 2);
    expect(b.isOpen).toBe(false);
    expect(b.allow()).toBe(true);
    expect(b.retryAt).toBe(0);
    expect(events).toEqual([]);
  });

  test("opens at the threshold of failures in a row", () => {
    const { b, clock, events } = breaker();
    fail(b, 3);
    expect(b.isOpen).toBe(true);
    expect(b.probing).toBe(false);
    expect(b.retryAt).toBe(clock.now() + 1000);
    expect(events).toEqual(["open 3 1000"]);
  });

  test("a success in between keeps it closed until enough failures follow", () => {
    const { b } = breaker();
    fail(b, 2);
    b.success();
    fail(b, 2);
    expect(b.isOpen).toBe(false);
    fail(b, 1);
    expect(b.isOpen).toBe(true);
  });

  test("nearly all failures among the latest outcomes open it; some failures at random do not", () => {
    const ratio = breaker({ window: 10, minimumCalls: 10, failureRatio: 0.9 });
    for (let i = 0; i < 40; i++) {
      expect(ratio.b.allow()).toBe(true);
      if (i % 2 === 0) ratio.b.failure();
      else ratio.b.success();
    }
    expect(ratio.b.isOpen).toBe(false);
    ratio.b.success();
    fail(ratio.b, 8);
    expect(ratio.b.isOpen).toBe(false); // 8 of the last 10
    fail(ratio.b, 1);
    expect(ratio.b.isOpen).toBe(true); // 9 of the last 10
    expect(ratio.events).toEqual(["open 9 1000"]);
  });

  test("no opening before minimumCalls outcomes are known", () => {
    const { b } = breaker({ window: 10, minimumCalls: 5, failureRatio: 0.5 });
    fail(b, 4);
    expect(b.isOpen).toBe(false);
    fail(b, 1);
    expect(b.isOpen).toBe(true);
  });

  test("refuses every request while open", () => {
    const { b, clock } = breaker();
    fail(b, 3);
    expect(b.allow()).toBe(false);
    clock.advance(999);
    expect(b.allow()).toBe(false);
    expect(b.allow()).toBe(false);
  });

  test("allows exactly one probe once openMs has passed", () => {
    const { b, clock } = breaker();
    fail(b, 3);
    clock.advance(1000);
    expect(b.allow()).toBe(true);
    expect(b.probing).toBe(true);
    expect(b.allow()).toBe(false);
    clock.advance(60_000);
    expect(b.allow()).toBe(false);
    expect(b.isOpen).toBe(true);
  });

  test("a successful probe closes the breaker and calls onClose", () => {
    const { b, clock, events } = breaker();
    fail(b, 3);
    clock.advance(1000);
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.isOpen).toBe(false);
    expect(b.probing).toBe(false);
    expect(b.retryAt).toBe(0);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
    expect(events).toEqual(["open 3 1000", "close"]);
  });

  test("onClose is not called for successes while closed", () => {
    const { b, events } = breaker();
    b.success();
    fail(b, 1);
    b.success();
    expect(events).toEqual([]);
  });

  test("a failed probe reopens for twice as long, up to maxOpenMs", () => {
    const { b, clock, events } = breaker();
    fail(b, 3);
    const probeFails = (waitMs: number) => {
      clock.advance(waitMs - 1);
      expect(b.allow()).toBe(false);
      clock.advance(1);
      expect(b.allow()).toBe(true);
      b.failure();
      expect(b.isOpen).toBe(true);
      expect(b.probing).toBe(false);
    };
    probeFails(1000);
    expect(b.retryAt).toBe(clock.now() + 2000);
    probeFails(2000);
    expect(b.retryAt).toBe(clock.now() + 3000);
    probeFails(3000);
    expect(b.retryAt).toBe(clock.now() + 3000);
    expect(events.map((e) => e.split(" ")[2])).toEqual(["1000", "2000", "3000", "3000"]);
  });

  test("after closing, the count starts afresh and the next opening is for openMs again", () => {
    const { b, clock, events } = breaker();
    fail(b, 3);
    clock.advance(1000);
    b.allow();
    b.failure(); // reopened for 2000
    clock.advance(2000);
    b.allow();
    b.success();
    fail(b, 2);
    expect(b.isOpen).toBe(false);
    fail(b, 1);
    expect(b.retryAt).toBe(clock.now() + 1000);
    expect(events.at(-1)).toBe("open 3 1000");
  });

  test("failures from before closing no longer count", () => {
    const { b, clock } = breaker({ window: 10, minimumCalls: 4, failureRatio: 0.5 });
    fail(b, 4);
    clock.advance(1000);
    b.allow();
    b.success();
    fail(b, 3);
    expect(b.isOpen).toBe(false);
    fail(b, 1);
    expect(b.isOpen).toBe(true);
  });

  test("release() after a probe lets another probe go", () => {
    const { b, clock } = breaker();
    fail(b, 3);
    clock.advance(1000);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    b.release();
    expect(b.probing).toBe(false);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
  });

  test("release() while closed changes nothing", () => {
    const { b } = breaker();
    fail(b, 2);
    b.release();
    expect(b.isOpen).toBe(false);
    fail(b, 1);
    expect(b.isOpen).toBe(true);
  });
});

describe("RateLimiter", () => {
  test("the burst goes at once, then one more only after 1/rate seconds", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(10, 3, clock.now);
    for (let i = 0; i < 3; i++) expect(await settlesWithin(limiter.take(), 5)).toBe(true);
    const fourth = limiter.take();
    expect(await settlesWithin(fourth, 150)).toBe(false); // fake time stands still
    clock.advance(100);
    expect(await settlesWithin(fourth, 1000)).toBe(true);
  });

  test("tokens come back at the rate, never beyond the burst", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(10, 3, clock.now);
    for (let i = 0; i < 3; i++) await limiter.take();
    clock.advance(250); // 2.5 tokens
    for (let i = 0; i < 2; i++) expect(await settlesWithin(limiter.take(), 5)).toBe(true);
    const controller = new AbortController();
    const third = limiter.take(controller.signal);
    expect(await settlesWithin(third, 30)).toBe(false);
    controller.abort(new Error("stop"));
    await third.catch(() => {});

    clock.advance(60_000); // far more than the burst
    for (let i = 0; i < 3; i++) expect(await settlesWithin(limiter.take(), 5)).toBe(true);
    const beyond = new AbortController();
    const fourth = limiter.take(beyond.signal);
    expect(await settlesWithin(fourth, 30)).toBe(false);
    beyond.abort(new Error("stop"));
    await fourth.catch(() => {});
  });

  test("with the real clock, requests beyond the burst go at the rate", async () => {
    const limiter = new RateLimiter(50, 1);
    const started = performance.now();
    for (let i = 0; i < 6; i++) await limiter.take();
    const elapsed = performance.now() - started;
    // One from the burst, five more at 50/s: 100 ms at least.
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(2000);
  });

  test("a waiting take rejects with the reason as soon as the signal aborts", async () => {
    const limiter = new RateLimiter(0.1, 1, fakeClock().now); // the next token in 10 s
    await limiter.take();
    const controller = new AbortController();
    const waiting = limiter.take(controller.signal);
    const outcome = waiting.then(
      () => "resolved",
      (e: unknown) => e,
    );
    expect(await settlesWithin(waiting, 20)).toBe(false);
    const reason = new Error("shutting down");
    controller.abort(reason);
    expect(await settlesWithin(waiting, 200)).toBe(true);
    expect(await outcome).toBe(reason);
  });

  test("a take with an aborted signal and no token rejects at once", async () => {
    const limiter = new RateLimiter(1, 1, fakeClock().now);
    await limiter.take();
    const controller = new AbortController();
    controller.abort(new Error("already stopped"));
    const outcome = limiter.take(controller.signal);
    expect(await settlesWithin(outcome, 50)).toBe(true);
    expect(
      await outcome.then(
        () => "resolved",
        (e: unknown) => (e as Error).message,
      ),
    ).toBe("already stopped");
  });
});

describe("RateLimiter.pauseFor", () => {
  test("no token is handed out before the pause ends, though the burst is full", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(10, 3, clock.now);
    limiter.pauseFor(200);
    const first = limiter.take();
    expect(await settlesWithin(first, 300)).toBe(false); // fake time stands still: still paused
    clock.advance(199);
    expect(await settlesWithin(first, 300)).toBe(false);
    clock.advance(1);
    expect(await settlesWithin(first, 500)).toBe(true);
    // The tokens were kept through the pause: the rest of the burst goes at once.
    for (let i = 0; i < 2; i++) expect(await settlesWithin(limiter.take(), 5)).toBe(true);
    const controller = new AbortController();
    const beyond = limiter.take(controller.signal);
    expect(await settlesWithin(beyond, 30)).toBe(false);
    controller.abort(new Error("stop"));
    await beyond.catch(() => {});
  });

  test("a shorter pause does not cut a longer one short; a longer one extends it", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(1000, 5, clock.now);
    limiter.pauseFor(100);
    limiter.pauseFor(20);
    const waiting = limiter.take();
    clock.advance(50);
    expect(await settlesWithin(waiting, 150)).toBe(false);
    limiter.pauseFor(100); // now until 150 from the start
    clock.advance(60); // 110
    expect(await settlesWithin(waiting, 250)).toBe(false);
    clock.advance(40); // 150
    expect(await settlesWithin(waiting, 500)).toBe(true);
  });

  test("a pause in the past changes nothing", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(10, 1, clock.now);
    limiter.pauseFor(100);
    clock.advance(100);
    expect(await settlesWithin(limiter.take(), 20)).toBe(true);
    limiter.pauseFor(0);
    limiter.pauseFor(-5);
    clock.advance(100); // one token back
    expect(await settlesWithin(limiter.take(), 20)).toBe(true);
  });

  test("a take waiting out a pause rejects as soon as the signal aborts", async () => {
    const limiter = new RateLimiter(10, 3, fakeClock().now);
    limiter.pauseFor(60_000);
    const controller = new AbortController();
    const waiting = limiter.take(controller.signal);
    const outcome = waiting.then(
      () => "resolved",
      (e: unknown) => (e as Error).message,
    );
    expect(await settlesWithin(waiting, 20)).toBe(false);
    controller.abort(new Error("stopping"));
    expect(await settlesWithin(waiting, 200)).toBe(true);
    expect(await outcome).toBe("stopping");
  });

  test("with the real clock, the next take waits out the pause", async () => {
    const limiter = new RateLimiter(100, 10);
    await limiter.take();
    limiter.pauseFor(250);
    const started = performance.now();
    await limiter.take();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe("retryWaitMs", () => {
  const backoff = { baseMs: 1000, maxMs: 60_000 };
  const low = () => 0;
  const mid = () => 0.5;
  const high = () => 1;

  test("base times 2^attempt, without jitter in the middle", () => {
    expect([0, 1, 2, 3, 4].map((a) => retryWaitMs(backoff, a, undefined, mid))).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  test("jitter spans 0.8 to 1.2 of the wait", () => {
    expect(retryWaitMs(backoff, 2, undefined, low)).toBeCloseTo(3200, 6);
    expect(retryWaitMs(backoff, 2, undefined, high)).toBeCloseTo(4800, 6);
    expect(retryWaitMs(backoff, 2, undefined, () => 0.25)).toBeCloseTo(3600, 6);
  });

  test("capped at maxMs before the jitter", () => {
    expect(retryWaitMs(backoff, 6, undefined, mid)).toBe(60_000);
    expect(retryWaitMs(backoff, 30, undefined, mid)).toBe(60_000);
    expect(retryWaitMs(backoff, 1000, undefined, low)).toBeCloseTo(48_000, 6);
    expect(retryWaitMs(backoff, 1000, undefined, high)).toBeCloseTo(72_000, 6);
  });

  test("with Math.random, always within the bounds", () => {
    for (let i = 0; i < 500; i++) {
      const attempt = i % 8;
      const wait = retryWaitMs(backoff, attempt);
      const nominal = Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt);
      expect(wait).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(wait).toBeLessThanOrEqual(nominal * 1.2);
    }
  });

  test("never shorter than Retry-After", () => {
    expect(retryWaitMs(backoff, 0, 5000, high)).toBe(5000);
    expect(retryWaitMs(backoff, 0, 1000, low)).toBe(1000);
    expect(retryWaitMs(backoff, 0, 1001, high)).toBeCloseTo(1200, 6); // the backoff is longer
    expect(retryWaitMs(backoff, 3, 0, mid)).toBe(8000);
  });

  test("Retry-After counts at most 10 minutes", () => {
    expect(retryWaitMs(backoff, 0, 3_600_000, mid)).toBe(600_000);
    expect(retryWaitMs(backoff, 0, 600_001, mid)).toBe(600_000);
    expect(retryWaitMs(backoff, 0, 599_999, mid)).toBe(599_999);
    // A backoff longer than 10 minutes is kept.
    expect(retryWaitMs({ baseMs: 1000, maxMs: 3_600_000 }, 20, 3_600_000, mid)).toBe(3_600_000);
  });
});

describe("webhook signatures", () => {
  const key16 = Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1);
  const key32 = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  const secret = `whsec_${b64(key32)}`;

  function secretError(value: string): WebhookSecretError {
    try {
      parseWebhookSecret(value);
    } catch (error) {
      return error as WebhookSecretError;
    }
    throw new Error(`expected ${JSON.stringify(value)} to be refused`);
  }

  test("whsec_ with base64 of 16 or more bytes gives those bytes", () => {
    expect(parseWebhookSecret(`whsec_${b64(key16)}`)).toEqual(key16);
    expect(parseWebhookSecret(secret)).toEqual(key32);
  });

  test("plain base64 and surrounding whitespace are accepted", () => {
    expect(parseWebhookSecret(b64(key32))).toEqual(key32);
    expect(parseWebhookSecret(`  ${secret}\n`)).toEqual(key32);
  });

  test("short, empty and non-base64 secrets are refused with a WebhookSecretError naming whsec_", () => {
    const bad = [
      `whsec_${b64(key16.slice(0, 15))}`,
      "whsec_",
      "",
      "whsec_not base64 at all!!",
      `whsec_${b64(key32).slice(0, -1)}`,
      "correct horse battery staple",
    ];
    for (const value of bad) {
      const error = secretError(value);
      expect(error).toBeInstanceOf(WebhookSecretError);
      expect(error.message).toContain("whsec_");
    }
  });

  /** The headers a delivery carries, signed now. */
  function signed(id: string, body: string, key = key32) {
    const timestamp = Math.floor(Date.now() / 1000);
    return {
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhook(key, id, timestamp, body),
    };
  }

  test("a signature verifies with the standardwebhooks package", () => {
    const body = '{"contact":{"$id":"X","name":"Zoë 😀"},"state":"new","transaction":{"fired":"2026-01-01T00:00:00.000Z"}}';
    const headers = signed("msg_0123456789abcdef0123456789abcdef", body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  test("the signature equals the one standardwebhooks makes", () => {
    const timestamp = 1_767_225_600;
    const body = '{"a":"ü"}';
    expect(signWebhook(key32, "msg_1", timestamp, body)).toBe(new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), body));
  });

  test("a tampered body, id or timestamp fails verification", () => {
    const body = '{"state":"new"}';
    const headers = signed("msg_a", body);
    const verifier = new Webhook(secret);
    expect(() => verifier.verify('{"state":"updated"}', headers)).toThrow();
    expect(() => verifier.verify(body, { ...headers, "webhook-id": "msg_b" })).toThrow();
    const later = String(Number(headers["webhook-timestamp"]) + 1);
    expect(() => verifier.verify(body, { ...headers, "webhook-timestamp": later })).toThrow();
    expect(() => verifier.verify(body, headers)).not.toThrow();
  });

  test("a signature made with another key fails verification", () => {
    const body = "{}";
    expect(() => new Webhook(secret).verify(body, signed("msg_a", body, key16))).toThrow();
  });
});

describe("webhookCandidates", () => {
  const ORIGIN = new Date("2026-03-01T00:00:00.000Z");
  const all = {};

  /** A contact as the API client reads it: parsed with exact numbers. */
  function contact(): Contact {
    return parseJsonExact(`{
      "$id": "CONTACT0000001",
      "$md5": "0123456789abcdef0123456789abcdef",
      "zeta": "last",
      "alpha": {"y": 2, "b": 1},
      "big": 12345678901234567890123,
      "precise": 0.12345678901234567890,
      "$task_log": [
        {"task_name": "fc_call", "transactions": [
          {"type": "update", "task": "fc_call", "fired": "2026-02-28T23:59:59.999Z", "user": "agent", "status": "open"},
          {"type": "update", "task": "fc_call", "fired": "2026-03-01T10:00:00.000Z", "user": "agent", "status": "success",
           "amount": 98765432109876543210, "connections": [{"id": "CN1", "disconnected": "2026-03-01T10:01:00.000Z"}]}
        ]},
        {"task_name": "qc_check", "transactions": [
          {"type": "update", "task": "qc_check", "fired": "2026-03-01T11:00:00.000Z", "status_detail": "$assigned", "user": "bot"},
          {"type": "update", "task": "qc_check", "fired": "2026-03-01T12:00:00.000Z"}
        ]}
      ]
    }`) as Contact;
  }

  /** The transactions of the contact's task log, in order. */
  const transactions = (c: Contact) => (c.$task_log ?? []).flatMap((entry) => entry.transactions ?? []);

  test("one candidate per transaction, identified as in the SQL modes", () => {
    const c = contact();
    const candidates = webhookCandidates(c, all, ORIGIN);
    expect(candidates.map((x) => x.fired)).toEqual(transactions(c).map((t) => t.fired));
    expect(candidates.map((x) => x.contactId)).toEqual(Array(4).fill("CONTACT0000001"));
    expect(candidates.map((x) => x.transactionId)).toEqual(transactions(c).map((t) => md5Hex(`CONTACT0000001${t.fired}`)));
  });

  test("the body is contact, state and transaction, in that order", () => {
    const [candidate] = webhookCandidates(contact(), all, ORIGIN);
    const body = candidate?.body("new") ?? "";
    expect(Object.keys(JSON.parse(body))).toEqual(["contact", "state", "transaction"]);
    expect(body).toStartWith('{"contact":{"$id":"CONTACT0000001",');
    expect(body).toContain('},"state":"new","transaction":{"fired":"2026-02-28T23:59:59.999Z",');
    expect(JSON.parse(candidate?.body("updated") ?? "").state).toBe("updated");
  });

  test("keys are sorted at every level and the contact has no $task_log", () => {
    const body = JSON.parse(webhookCandidates(contact(), all, ORIGIN)[1]?.body("new") ?? "");
    expect(Object.keys(body.contact)).toEqual(["$id", "$md5", "alpha", "big", "precise", "zeta"]);
    expect(Object.keys(body.contact.alpha)).toEqual(["b", "y"]);
    expect(Object.keys(body.transaction)).toEqual(["amount", "connections", "fired", "status", "task", "type", "user"]);
    expect(Object.keys(body.transaction.connections[0])).toEqual(["disconnected", "id"]);
  });

  test("the transaction is as in the task log, connections included", () => {
    const c = contact();
    const body = parseJsonExact(webhookCandidates(c, all, ORIGIN)[1]?.body("new") ?? "") as { transaction: unknown };
    expect(body.transaction).toEqual(transactions(c)[1]);
  });

  test("numbers beyond double precision are kept exactly", () => {
    const body = webhookCandidates(contact(), all, ORIGIN)[1]?.body("new") ?? "";
    expect(body).toContain('"big":12345678901234567890123');
    expect(body).toContain('"precise":0.12345678901234567890');
    expect(body).toContain('"amount":98765432109876543210');
    const parsed = parseJsonExact(body) as { contact: Record<string, { rawJSON: string }> };
    expect(parsed.contact.big?.rawJSON).toBe("12345678901234567890123");
    expect(parsed.contact.precise?.rawJSON).toBe("0.12345678901234567890");
  });

  test("the hash is the same for the same content and changes when a connection is added", () => {
    const before = webhookCandidates(contact(), all, ORIGIN);
    expect(webhookCandidates(contact(), all, ORIGIN).map((x) => x.hash)).toEqual(before.map((x) => x.hash));
    const changed = contact();
    const connections = transactions(changed)[1]?.connections as unknown[];
    connections.push({ id: "CN2", disconnected: "2026-03-01T10:05:00.000Z" });
    const after = webhookCandidates(changed, all, ORIGIN);
    expect(after[1]?.hash).not.toBe(before[1]?.hash);
    expect(after[1]?.transactionId).toBe(before[1]?.transactionId ?? "");
    expect(after[0]?.hash).toBe(before[0]?.hash ?? "");
    expect(after[1]?.body("updated")).toContain('"id":"CN2"');
  });

  test("the hash ignores the order of keys but not the contact's other fields", () => {
    const reordered = contact();
    const first = transactions(reordered)[0] as Record<string, unknown>;
    const copy = { ...first };
    for (const k of Object.keys(first)) delete first[k];
    for (const k of Object.keys(copy).reverse()) first[k] = copy[k];
    expect(webhookCandidates(reordered, all, ORIGIN)[0]?.hash).toBe(webhookCandidates(contact(), all, ORIGIN)[0]?.hash ?? "");
  });

  test("the hash changes with the transaction's own content", () => {
    const changed = contact();
    (transactions(changed)[0] as Record<string, unknown>).status = "closed";
    expect(webhookCandidates(changed, all, ORIGIN)[0]?.hash).not.toBe(webhookCandidates(contact(), all, ORIGIN)[0]?.hash);
  });

  test("--fm hi_updates_only drops transactions without a user and $assigned ones", () => {
    const fired = webhookCandidates(contact(), { mode: "hi_updates_only" }, ORIGIN).map((x) => x.fired);
    expect(fired).toEqual(["2026-02-28T23:59:59.999Z", "2026-03-01T10:00:00.000Z"]);
  });

  test("--fp keeps only the tasks with the given prefixes", () => {
    expect(webhookCandidates(contact(), { taskPrefixes: ["qc_"] }, ORIGIN).map((x) => x.fired)).toEqual([
      "2026-03-01T11:00:00.000Z",
      "2026-03-01T12:00:00.000Z",
    ]);
    expect(webhookCandidates(contact(), { taskPrefixes: ["xx_"] }, ORIGIN)).toEqual([]);
  });

  test("--fm updates_only drops transactions of other types", () => {
    const c = contact();
    (transactions(c)[3] as Record<string, unknown>).type = "assign";
    expect(webhookCandidates(c, { mode: "updates_only" }, ORIGIN)).toHaveLength(3);
  });

  test("transactions fired before the origin are history", () => {
    const candidates = webhookCandidates(contact(), all, ORIGIN);
    expect(candidates.map((x) => x.history)).toEqual([true, false, false, false]);
    expect(webhookCandidates(contact(), all, new Date("2026-03-01T10:00:00.000Z")).map((x) => x.history)).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(webhookCandidates(contact(), all, new Date("2026-03-01T10:00:00.001Z")).map((x) => x.history)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  test("a transaction without a readable fired is not history", () => {
    const c = contact();
    delete (transactions(c)[0] as Record<string, unknown>).fired;
    (transactions(c)[1] as Record<string, unknown>).fired = "yesterday";
    const [a, b] = webhookCandidates(c, all, new Date("2100-01-01T00:00:00.000Z"));
    expect(a?.fired).toBeUndefined();
    expect(a?.history).toBe(false);
    expect(b?.history).toBe(false);
  });

  test("transactions with the same fired on one contact get distinct ids", () => {
    const c = contact();
    for (const t of transactions(c)) t.fired = "2026-03-01T10:00:00.000Z";
    const ids = webhookCandidates(c, all, ORIGIN).map((x) => x.transactionId);
    expect(new Set(ids).size).toBe(4);
    expect(ids[0]).toBe(md5Hex("CONTACT00000012026-03-01T10:00:00.000Z"));
  });

  test("a contact without a task log gives no candidates", () => {
    expect(webhookCandidates({ $id: "X", $md5: "m" }, all, ORIGIN)).toEqual([]);
  });
});

describe("Deliverer", () => {
  type Handler = (request: Request, body: string) => Response | Promise<Response>;
  interface Received {
    at: number;
    id: string;
    body: { transactionId: string; contactId: string; hash: string; state: string };
  }

  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A receiver on 127.0.0.1 that records every request before `handler` answers it. */
  function receiver(handler: Handler) {
    const received: Received[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 30,
      async fetch(request) {
        const body = await request.text();
        received.push({ at: performance.now(), id: request.headers.get("webhook-id") ?? "", body: JSON.parse(body) });
        return handler(request, body);
      },
    });
    cleanups.push(() => server.stop(true));
    return { url: `http://127.0.0.1:${server.port}/hook`, received, server };
  }

  const scope = { campaign: "C" };

  function candidate(transactionId: string, contactId: string, hash = "h"): OutboxCandidate {
    return {
      contactId,
      transactionId,
      hash,
      history: false,
      fired: "2026-03-01T10:00:00.000Z",
      body: (state) => JSON.stringify({ transactionId, contactId, hash, state }),
    };
  }

  async function store(): Promise<StateStore> {
    const state = await openStateStore(":memory:");
    cleanups.push(() => state.close());
    return state;
  }

  /** A deliverer as campaign/webhook.ts builds it, with short timings. */
  function deliverer(state: StateStore, overrides: Partial<DelivererOptions> = {}) {
    const warnings: string[] = [];
    const breakerEvents: string[] = [];
    const rate = overrides.rate ?? 200;
    const d = new Deliverer({
      outbox: state.outbox,
      selection: { scope },
      attempts: 3,
      backoff: { baseMs: 20, maxMs: 200 },
      timeoutMs: 1000,
      concurrency: 4,
      rate,
      limiter: new RateLimiter(rate, 50),
      breaker: new CircuitBreaker({
        openMs: 500,
        onOpen: (failures) => breakerEvents.push(`open ${failures}`),
        onClose: () => breakerEvents.push("close"),
      }),
      userAgent: "dbsync-test",
      log: { info: () => {}, warn: (m) => warnings.push(m) },
      ...overrides,
    });
    return { d, warnings, breakerEvents };
  }

  /** Runs until nothing of the scope is pending; fails the test instead of hanging. */
  async function runUntilIdle(d: Deliverer, state: StateStore, limitMs = 4500): Promise<number> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("the deliverer did not finish in time")), limitMs);
    const started = performance.now();
    try {
      await d.run(controller.signal, { done: async () => (await state.outbox.pendingCount({ scope })) === 0 });
    } finally {
      clearTimeout(timer);
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    return performance.now() - started;
  }

  const options = (url: string) => ({ url, floor: undefined, signed: false });

  test("a 2xx whose body comes slowly counts as delivered, without waiting for the body", async () => {
    let bodyFinished = false;
    const { url, received } = receiver(() => {
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("accepted, "));
          setTimeout(() => {
            try {
              controller.enqueue(new TextEncoder().encode("and more"));
              controller.close();
              bodyFinished = true;
            } catch {
              // cancelled by the client: fine
            }
          }, 2000);
        },
      });
      return new Response(stream, { status: 200, headers: { "content-type": "text/plain" } });
    });
    const state = await store();
    await state.outbox.enqueue(scope, [candidate("t1", "c1")], [], options(url));
    const { d, warnings } = deliverer(state, { timeoutMs: 500, attempts: 1 });
    const elapsed = await runUntilIdle(d, state);
    expect(received).toHaveLength(1);
    expect(d.stats).toEqual({ delivered: 1, failedAttempts: 0, deadLettered: 0 });
    expect(await state.outbox.failed({})).toEqual([]);
    expect(await state.outbox.pendingCount()).toBe(0);
    expect(warnings).toEqual([]);
    expect(bodyFinished).toBe(false);
    expect(elapsed).toBeLessThan(1500);
  });

  test("a delivery recorded signed is never sent unsigned: without the secret it ends in the dead-letter list", async () => {
    const { url, received } = receiver(() => new Response("ok"));
    const state = await store();
    await state.outbox.enqueue(scope, [candidate("t1", "c1")], [], { ...options(url), signed: true });
    const { d } = deliverer(state, { attempts: 2 });
    await runUntilIdle(d, state);
    expect(received).toEqual([]);
    const [dead] = await state.outbox.failed({ campaign: "C" });
    expect(dead?.lastError).toContain("no secret is given");
  });

  test("while the breaker's probe is out nothing else is claimed; its answer closes it and the rest goes", async () => {
    let answered = 0;
    const { url, received } = receiver(async () => {
      if (answered++ === 0) await Bun.sleep(400); // the probe, slowly
      return new Response("ok");
    });
    const state = await store();
    await state.outbox.enqueue(
      scope,
      Array.from({ length: 50 }, (_, i) => candidate(`t${i}`, `c${i}`)),
      [],
      options(url),
    );
    const breaker = new CircuitBreaker({ openMs: 1 });
    for (let i = 0; i < 20; i++) breaker.failure();
    await Bun.sleep(5);
    const { d } = deliverer(state, { breaker });
    const run = runUntilIdle(d, state);
    await Bun.sleep(200);
    expect(received).toHaveLength(1); // only the probe
    expect(d.stats.failedAttempts).toBe(0); // nobody else spent an attempt meanwhile
    await run;
    expect(received).toHaveLength(50);
    expect(breaker.isOpen).toBe(false);
  });

  test("a receiver that never answers: 'no answer within' after timeoutMs, retried, then dead-lettered", async () => {
    const { url, received } = receiver(() => new Promise<Response>(() => {}));
    const state = await store();
    await state.outbox.enqueue(scope, [candidate("t1", "c1")], [], options(url));
    const { d, warnings } = deliverer(state, { timeoutMs: 300, attempts: 2 });
    const elapsed = await runUntilIdle(d, state);
    expect(received.map((r) => r.body.transactionId)).toEqual(["t1", "t1"]);
    expect(new Set(received.map((r) => r.id)).size).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(2 * 300 - 20);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(300 + 20 * 0.8 - 20);
    expect(d.stats).toEqual({ delivered: 0, failedAttempts: 2, deadLettered: 1 });
    const [dead, ...rest] = await state.outbox.failed({ campaign: "C" });
    expect(rest).toEqual([]);
    expect(dead).toMatchObject({ transactionId: "t1", attempts: 2, status: "failed" });
    expect(dead?.lastError).toBe("no answer within 0.3 s");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(dead?.id ?? "?");
  });

  test("a timeout that is retried successfully is delivered once", async () => {
    let calls = 0;
    const { url, received } = receiver(() => (++calls === 1 ? new Promise<Response>(() => {}) : new Response(null, { status: 204 })));
    const state = await store();
    await state.outbox.enqueue(scope, [candidate("t1", "c1")], [], options(url));
    const { d } = deliverer(state, { timeoutMs: 300, attempts: 3 });
    await runUntilIdle(d, state);
    expect(received).toHaveLength(2);
    expect(d.stats).toEqual({ delivered: 1, failedAttempts: 1, deadLettered: 0 });
    expect(await state.outbox.failed({})).toEqual([]);
  });

  describe("a redirect is a failed attempt, and its URL's query stays out of the error", () => {
    /** A receiver answering 301 to a URL with a key in its query, with `body` ({target} replaced). */
    async function redirected(body: string | null) {
      let followed = 0;
      const target = receiver(() => {
        followed++;
        return new Response("ok");
      });
      const secretTarget = `${target.url}?key=SECRET`;
      const { url, received } = receiver(
        () => new Response(body?.replace("{target}", secretTarget) ?? null, { status: 301, headers: { location: secretTarget } }),
      );
      const state = await store();
      await state.outbox.enqueue(scope, [candidate("t1", "c1")], [], options(url));
      const { d, warnings, breakerEvents } = deliverer(state, { attempts: 1 });
      await runUntilIdle(d, state);
      expect(received).toHaveLength(1);
      expect(followed).toBe(0);
      expect(d.stats).toEqual({ delivered: 0, failedAttempts: 1, deadLettered: 1 });
      const [dead] = await state.outbox.failed({});
      expect(dead?.lastError).toContain("redirects");
      expect(dead?.lastError).toContain("301");
      expect(dead?.lastError).toContain(target.url); // where to, without the query
      expect(dead?.lastError).not.toContain("SECRET");
      expect(warnings.join("\n")).not.toContain("SECRET");
      expect(breakerEvents).toEqual([]);
    }

    test("without a body", () => redirected(null));

    // Express, Rails and nginx repeat the target in the body: it must not reach lastError either.
    test("with a body naming the target, as many frameworks send", () => redirected("Moved Permanently. Redirecting to {target}"));
  });

  test("429 with Retry-After: 1 makes the next request of any delivery wait, and does not open the breaker", async () => {
    let calls = 0;
    const { url, received } = receiver(() =>
      ++calls <= 2 ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } }) : new Response("ok"),
    );
    const state = await store();
    await state.outbox.enqueue(scope, [candidate("t1", "c1"), candidate("t2", "c2"), candidate("t3", "c3")], [], options(url));
    // A breaker that one counted failure would open.
    const events: string[] = [];
    const breaker = new CircuitBreaker({ window: 1, minimumCalls: 1, failureRatio: 1, openMs: 60_000, onOpen: () => events.push("open") });
    const { d } = deliverer(state, { concurrency: 1, attempts: 5, breaker });
    await runUntilIdle(d, state);
    expect(events).toEqual([]);
    expect(breaker.isOpen).toBe(false);
    expect(d.stats).toEqual({ delivered: 3, failedAttempts: 2, deadLettered: 0 });
    expect(received).toHaveLength(5);
    // Each request after a 429 came a second later at least, whichever delivery it was.
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(950);
    expect(received[2]!.at - received[1]!.at).toBeGreaterThanOrEqual(950);
    expect(received[0]!.id).not.toBe(received[1]!.id);
    expect(new Set(received.map((r) => r.body.transactionId))).toEqual(new Set(["t1", "t2", "t3"]));
  });

  test("deliveries of one contact arrive in recording order, one at a time, with concurrency 8", async () => {
    const inFlight = new Map<string, number>();
    let maxInFlight = 0;
    let contactOverlap = false;
    const firstSeen = new Set<string>();
    const accepted: Received[] = [];
    const { url } = receiver(async (request, raw) => {
      const body = JSON.parse(raw) as Received["body"];
      const id = request.headers.get("webhook-id") ?? "";
      const busy = inFlight.get(body.contactId) ?? 0;
      if (busy > 0) contactOverlap = true;
      inFlight.set(body.contactId, busy + 1);
      maxInFlight = Math.max(
        maxInFlight,
        [...inFlight.values()].reduce((a, b) => a + b, 0),
      );
      await Bun.sleep(5 + Math.floor(Math.random() * 25));
      inFlight.set(body.contactId, (inFlight.get(body.contactId) ?? 1) - 1);
      // The first attempt of every third delivery fails.
      const fail = !firstSeen.has(id) && Number(body.transactionId.split("-")[1]) % 3 === 0;
      firstSeen.add(id);
      if (fail) return new Response("try again", { status: 503 });
      accepted.push({ at: performance.now(), id, body });
      return new Response(null, { status: 204 });
    });
    const state = await store();
    const contacts = ["a", "b", "c", "d", "e", "f"];
    const recorded = new Map<string, string[]>(contacts.map((c) => [c, []]));
    // Recorded in several enqueues, contacts interleaved, some versions updated.
    for (let round = 0; round < 5; round++) {
      const batch = contacts.map((c) => candidate(`${c}-${round}`, c));
      if (round === 3) batch.push(candidate("a-1", "a", "changed"));
      await state.outbox.enqueue(scope, batch, [], options(url));
      for (const x of batch) recorded.get(x.contactId)?.push(x.transactionId);
    }
    const { d } = deliverer(state, { concurrency: 8, attempts: 5 });
    await runUntilIdle(d, state);
    expect(d.stats.deadLettered).toBe(0);
    expect(d.stats.delivered).toBe(31);
    expect(d.stats.failedAttempts).toBeGreaterThan(0);
    expect(contactOverlap).toBe(false);
    expect(maxInFlight).toBeGreaterThan(1);
    for (const c of contacts) {
      expect(accepted.filter((r) => r.body.contactId === c).map((r) => r.body.transactionId)).toEqual(recorded.get(c) ?? []);
    }
    const a1 = accepted.filter((r) => r.body.transactionId === "a-1").map((r) => [r.body.hash, r.body.state]);
    expect(a1).toEqual([
      ["h", "new"],
      ["changed", "updated"],
    ]);
  });
});
