// When `dbsync run` alerts, on a clock the test moves: one message when a campaign has failed or lagged
// long enough, one when it is over, none for a blip, none repeated while it lasts; many campaigns at
// once in one message. And the sender: a receiver that is down costs one log line, never a throw.
import { afterAll, describe, expect, test } from "bun:test";
import { type AlertChange, type AlertSettings, AlertWatcher, alertMessage } from "../src/campaign/alerts.ts";
import { AlertSender, alertUrlForLogs } from "../src/campaign/alerts-sender.ts";

const MINUTE = 60_000;
const SETTINGS: AlertSettings = { url: "http://127.0.0.1:9/hook", failingMs: 10 * MINUTE, lagMs: 30 * MINUTE, forMs: 5 * MINUTE };

/** A watcher on a clock that only moves when told, checked every `stepMs` like the daemon's rounds. */
function scene(names: string[] = ["A"]) {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const watcher = new AlertWatcher(() => now);
  const watched = new Map(names.map((name) => [name, `${name} db_sync`]));
  const changes: AlertChange[] = [];
  const check = () => changes.push(...watcher.check(watched, SETTINGS));
  return {
    watcher,
    watched,
    changes,
    /** Moves the clock by `ms`, checking every 7.5 s on the way (a round of the default lease). */
    pass(ms: number, each?: () => void) {
      const end = now + ms;
      while (now < end) {
        now = Math.min(end, now + 7500);
        each?.();
        check();
      }
    },
    /** A campaign failing again and again: an attempt every `waitMs`, failing after a moment. */
    failFor(ms: number, name = "A", waitMs = 20_000) {
      const end = now + ms;
      while (now < end) {
        watcher.report(name, "running");
        now += 200;
        watcher.report(name, "backing_off", "the API refused the token (401)");
        check();
        now = Math.min(end, now + waitMs);
        check();
      }
    },
    kinds: () => changes.map((change) => `${change.name} ${change.kind} ${change.change}`),
  };
}

describe("failures", () => {
  test("a failure lasting an hour: exactly one alert, and exactly one recovery once it runs again", () => {
    const s = scene();
    s.watcher.report("A", "running");
    s.pass(MINUTE);
    s.failFor(60 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert"]);
    expect(s.changes[0]?.lastError).toBe("the API refused the token (401)");
    s.watcher.report("A", "running");
    s.pass(60 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert", "A failing recovered"]);
  });

  test("the alert comes once the failures lasted failing_minutes, not before", () => {
    const s = scene();
    s.failFor(9 * MINUTE);
    expect(s.kinds()).toEqual([]);
    s.failFor(1.5 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert"]);
  });

  test("a blip (a few failures, then it runs) gives nothing, also when it runs a long time after", () => {
    const s = scene();
    s.failFor(2 * MINUTE);
    s.watcher.report("A", "running");
    s.pass(120 * MINUTE);
    expect(s.kinds()).toEqual([]);
  });

  test("an attempt between two failures is no recovery; only running for for_minutes is", () => {
    const s = scene();
    s.failFor(15 * MINUTE, "A", 4 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert"]);
    s.watcher.report("A", "running");
    s.pass(4 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert"]);
    s.failFor(20 * MINUTE, "A", 4 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert"]);
    s.watcher.report("A", "running");
    s.pass(5.5 * MINUTE);
    expect(s.kinds()).toEqual(["A failing alert", "A failing recovered"]);
  });

  test("a db_init that finishes after failing recovers at once", () => {
    const s = scene();
    s.failFor(12 * MINUTE);
    s.watcher.report("A", "running");
    s.watcher.report("A", "finished");
    s.pass(10_000);
    expect(s.kinds()).toEqual(["A failing alert", "A failing recovered"]);
  });

  test("many campaigns failing at once: one check, one message naming them all", () => {
    const names = Array.from({ length: 30 }, (_, index) => `C${index}`);
    const s = scene(names);
    const batches: AlertChange[][] = [];
    let now = 0;
    const watcher = new AlertWatcher(() => now);
    for (let minute = 0; minute <= 15; minute++) {
      now = minute * MINUTE;
      for (const name of names) watcher.report(name, "backing_off", "the database is down");
      const changes = watcher.check(s.watched, SETTINGS);
      if (changes.length > 0) batches.push(changes);
    }
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(30);
    const message = alertMessage(batches[0] as AlertChange[], "replica-1");
    expect(message.text.split("\n")).toHaveLength(1 + 20 + 1);
    expect(message.text).toContain("… and 10 more");
    expect(message.alerts).toHaveLength(30);
  });
});

describe("lag", () => {
  test("beyond lag_minutes for for_minutes: one alert; back within it for for_minutes: one recovery", () => {
    const s = scene();
    s.watcher.report("A", "running");
    s.watcher.lag("A", 2 * MINUTE);
    s.pass(10 * MINUTE);
    s.watcher.lag("A", 31 * MINUTE);
    s.pass(4 * MINUTE);
    expect(s.kinds()).toEqual([]);
    let lag = 31 * MINUTE;
    s.pass(60 * MINUTE, () => {
      lag += 7500;
      s.watcher.lag("A", lag);
    });
    expect(s.kinds()).toEqual(["A lagging alert"]);
    s.watcher.lag("A", MINUTE);
    s.pass(4 * MINUTE);
    expect(s.kinds()).toEqual(["A lagging alert"]);
    s.pass(2 * MINUTE);
    expect(s.kinds()).toEqual(["A lagging alert", "A lagging recovered"]);
  });

  test("a lag hovering at the threshold gives nothing, and a short dip under it no recovery", () => {
    const s = scene();
    s.watcher.report("A", "running");
    let beyond = false;
    // Beyond for a minute, within for a minute, for two hours.
    let ticks = 0;
    s.pass(120 * MINUTE, () => {
      if (++ticks % 8 === 0) beyond = !beyond;
      s.watcher.lag("A", beyond ? 31 * MINUTE : 29 * MINUTE);
    });
    expect(s.kinds()).toEqual([]);
    s.watcher.lag("A", 40 * MINUTE);
    s.pass(6 * MINUTE);
    s.watcher.lag("A", 10 * MINUTE);
    s.pass(2 * MINUTE);
    s.watcher.lag("A", 40 * MINUTE);
    s.pass(30 * MINUTE);
    expect(s.kinds()).toEqual(["A lagging alert"]);
  });
});

test("a campaign handed to another replica: an open alert is closed here once, then it is forgotten", () => {
  const s = scene(["A", "B"]);
  s.failFor(11 * MINUTE, "A");
  s.failFor(5 * MINUTE, "B");
  expect(s.kinds()).toEqual(["A failing alert"]);
  s.watched.delete("A");
  s.watched.delete("B");
  s.pass(MINUTE);
  expect(s.kinds()).toEqual(["A failing alert", "A failing unwatched"]);
  s.pass(30 * MINUTE);
  expect(s.changes).toHaveLength(2);
});

describe("the sender", () => {
  const received: string[] = [];
  let answer = 200;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push(await request.text());
      if (answer === 0) await Bun.sleep(2000);
      return new Response("ok", { status: answer === 0 ? 200 : answer });
    },
  });
  const url = `http://127.0.0.1:${server.port}/services/T000/B000/secretpart`;
  afterAll(() => server.stop(true));

  test("posts Slack-compatible JSON with the list for other receivers", async () => {
    received.length = 0;
    answer = 200;
    const warnings: string[] = [];
    const sender = new AlertSender({ warn: (line) => warnings.push(line) });
    const change: AlertChange = { name: "A|db_sync|x", label: "A db_sync", kind: "failing", change: "alert", since: 0, lastError: "boom" };
    sender.send(url, alertMessage([change], "r1"));
    await sender.idle(5000);
    expect(received).toHaveLength(1);
    const body = JSON.parse(received[0] as string);
    expect(body.text).toContain("FAILING: A db_sync");
    expect(body.alerts[0]).toMatchObject({ name: "A|db_sync|x", kind: "failing", change: "alert", since: "1970-01-01T00:00:00.000Z" });
    expect(warnings).toEqual([]);
  });

  test("a receiver that refuses: a few attempts, then one line without the URL's secret; send never throws", async () => {
    received.length = 0;
    answer = 500;
    const warnings: string[] = [];
    const sender = new AlertSender({ warn: (line) => warnings.push(line), retryWaitMs: 10 });
    sender.send(url, { text: "x" });
    await sender.idle(5000);
    expect(received).toHaveLength(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${alertUrlForLogs(url)} (3 attempts, the last: HTTP 500)`);
    expect(warnings[0]).not.toContain("secretpart");
  });

  test("a receiver that does not answer is given up after the timeout; one that cannot be reached too", async () => {
    answer = 0;
    const warnings: string[] = [];
    const sender = new AlertSender({ warn: (line) => warnings.push(line), retryWaitMs: 10, timeoutMs: 200, attempts: 2 });
    sender.send(url, { text: "x" });
    sender.send("http://127.0.0.1:9/nothing-listens", { text: "y" });
    await sender.idle(10_000);
    expect(warnings).toEqual([
      expect.stringContaining("the last: no answer within 0.2 s"),
      expect.stringContaining("http://127.0.0.1:9/… (2 attempts, the last: cannot connect)"),
    ]);
  });

  test("messages piling up behind a dead receiver are dropped beyond a few, and counted", async () => {
    answer = 500;
    const warnings: string[] = [];
    const sender = new AlertSender({ warn: (line) => warnings.push(line), retryWaitMs: 50, attempts: 2, maxWaiting: 2 });
    const started = performance.now();
    for (let index = 0; index < 10; index++) sender.send(url, { text: String(index) });
    expect(performance.now() - started).toBeLessThan(50);
    await sender.idle(10_000);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("HTTP 500); 8 alerts were dropped meanwhile (too many waiting)");
  });
});
