// Webhook mode end to end: the simulator's campaign changes while dbsync forwards its transactions
// over real HTTP to a receiver on 127.0.0.1 that fails, hangs, throttles, dies and comes back.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { openStateStore } from "../src/state/open.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { deliveryProblems, expectedTransactions, overlapProblems, summarise } from "./helpers/deliveries.ts";
import { waitFor } from "./helpers/expect.ts";
import { seededRandom } from "./helpers/random.ts";
import { type Receiver, startReceiver } from "./helpers/receiver.ts";
import { CLI, runCli, syncInProcess, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(180_000);

const TOKEN = "webhook-token-0123456789";
const CAMPAIGN = "WEBHOOKCAMPAIGN1";
const SECRET = `whsec_${Buffer.from("a test secret of 32 bytes length").toString("base64")}`;
const SEED = Number(process.env.WEBHOOK_SEED ?? 20261122);

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const part of running.splice(0)) await part.stop();
});

function simulator(contacts: number, seed: number): RunningSimulator {
  const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts, seed, activityIntervalMs: 150 });
  running.push(sim);
  return sim;
}

function receiver(options: Parameters<typeof startReceiver>[0]): Receiver {
  const started = startReceiver(options);
  running.push(started);
  return started;
}

/** Webhook-mode flags; the waits are short so that tests take seconds, not the defaults' minutes. */
function flags(sim: RunningSimulator, receiverUrl: string, dir: string, ...extra: string[]): string[] {
  return [
    ...flatFlags("webhook", CAMPAIGN, TOKEN, sim.url, receiverUrl, `file:${dir}/state.db`),
    "--interval",
    "0.3",
    "--w",
    "8",
    "--webhook-timeout",
    "0.4",
    "--retry-wait",
    "0.05",
    "--wr",
    "400",
    "--wb",
    "100",
    ...extra,
  ];
}

/** Lets the campaign change for `ms`, then stops its activity so that the receiver can catch up. */
async function activity(sim: RunningSimulator, ms: number): Promise<void> {
  sim.resumeActivity();
  await Bun.sleep(ms);
  sim.pauseActivity();
}

describe("webhook mode delivers every transaction", () => {
  test("to a receiver failing 30% at random, hanging past the timeout, answering 429 with Retry-After", async () => {
    const sim = simulator(300, 5);
    sim.pauseActivity();
    // Hung answers come after a minute, as a 200: only a sender with a timeout gets past them.
    const hook = receiver({
      secret: SECRET,
      seed: SEED,
      behaviour: { failRate: 0.23, hangRate: 0.05, busyRate: 0.02, retryAfterSeconds: 1 },
    });
    const since = new Date(Date.now() - 3 * 24 * 3_600_000);
    const dir = tempDir("webhook-flaky");
    const stop = new AbortController();
    // 30% of attempts fail: 20 attempts make a dead letter (0.3^20) practically impossible.
    const run = syncInProcess(
      flags(sim, hook.url, dir, "--s", since.toISOString(), "--retries", "20", "--webhook-secret", SECRET),
      stop.signal,
    );
    await activity(sim, 6000);
    const expected = expectedTransactions(sim.campaign, since);
    await waitFor("the receiver has every transaction", async () => deliveryProblems(expected, hook.requests).length === 0, 90).catch(
      () => {},
    );
    stop.abort();
    expect(await run).toBe(0);
    expect(summarise(deliveryProblems(expected, hook.requests))).toBe("");
    expect(summarise(overlapProblems(hook.requests))).toBe("");

    // Retry-After: after a 429 nothing is sent for the second the receiver asked for.
    const throttled = hook.requests.filter((r) => r.status === 429);
    const tooEarly = throttled.flatMap((busy) =>
      hook.requests
        .filter((r) => r.receivedAt > busy.answeredAt + 200 && r.receivedAt < busy.answeredAt + 800)
        .map((r) => `${r.id} ${r.receivedAt - busy.answeredAt} ms after a 429`),
    );
    expect(tooEarly).toEqual([]);

    // The receiver really misbehaved, and the test is not vacuous.
    const statuses = hook.requests.map((r) => r.status);
    expect(statuses.filter((s) => s === 500).length).toBeGreaterThan(20);
    expect(throttled.length).toBeGreaterThan(2);
    expect(hook.requests.filter((r) => r.hung).length).toBeGreaterThan(3);
    expect(expected.size).toBeGreaterThan(100);
    const updated = new Set(
      hook
        .accepted()
        .filter((r) => r.state === "updated")
        .map((r) => r.id),
    );
    expect(updated.size).toBeGreaterThan(5); // connections added after the first delivery
  });

  test("with --fm/--fp only the transactions that pass the filters (the original ignored them in webhook mode)", async () => {
    const sim = simulator(200, 6);
    sim.pauseActivity();
    const hook = receiver({ seed: SEED + 1 });
    const since = new Date(Date.now() - 30 * 24 * 3_600_000);
    const filter = { mode: "hi_updates_only" as const, taskPrefixes: ["fc_"] };
    const stop = new AbortController();
    const run = syncInProcess(
      flags(sim, hook.url, tempDir("webhook-filter"), "--s", since.toISOString(), "--fm", "hi_updates_only", "--fp", "fc_"),
      stop.signal,
    );
    await activity(sim, 3000);
    const expected = expectedTransactions(sim.campaign, since, filter);
    await waitFor(
      "the receiver has every matching transaction",
      async () => deliveryProblems(expected, hook.requests).length === 0,
      60,
    ).catch(() => {});
    stop.abort();
    expect(await run).toBe(0);
    expect(summarise(deliveryProblems(expected, hook.requests))).toBe("");
    expect(expected.size).toBeGreaterThan(20);
    expect(expectedTransactions(sim.campaign, since).size).toBeGreaterThan(expected.size); // the filter left some out
  });

  test("without --s only transactions fired after the first start; a restart resends nothing as new", async () => {
    const sim = simulator(200, 7);
    sim.pauseActivity();
    const hook = receiver({ seed: SEED + 2 });
    const dir = tempDir("webhook-future");
    const firstStart = new Date();
    let stop = new AbortController();
    let run = syncInProcess(flags(sim, hook.url, dir), stop.signal);
    await activity(sim, 2500);
    await waitFor("first deliveries", async () => hook.accepted().length > 0, 30);
    stop.abort();
    expect(await run).toBe(0);

    await activity(sim, 1500); // changes while dbsync is down are caught up after the restart
    stop = new AbortController();
    run = syncInProcess(flags(sim, hook.url, dir), stop.signal);
    await activity(sim, 2500);
    const expected = expectedTransactions(sim.campaign, firstStart);
    await waitFor("the receiver has every new transaction", async () => deliveryProblems(expected, hook.requests).length === 0, 60).catch(
      () => {},
    );
    stop.abort();
    expect(await run).toBe(0);
    expect(summarise(deliveryProblems(expected, hook.requests))).toBe("");
    expect(expected.size).toBeGreaterThan(10);
    const history = hook.requests.filter((r) => Date.parse(r.fired) < firstStart.getTime() - 1000);
    expect(history.map((r) => `${r.contactId}|${r.fired}`)).toEqual([]);
  });
});

describe("webhook mode across restarts", () => {
  test("a new --url gets what was pending for the old one, and what happened in between", async () => {
    const sim = simulator(150, 11);
    sim.pauseActivity();
    const old = receiver({ seed: SEED + 6, behaviour: { down: true } });
    const moved = receiver({ seed: SEED + 7 });
    const dir = tempDir("webhook-moved");
    const since = new Date(Date.now() - 2 * 24 * 3_600_000);
    let stop = new AbortController();
    let run = syncInProcess(flags(sim, old.url, dir, "--s", since.toISOString()), stop.signal);
    await waitFor("the old receiver was tried", async () => old.requests.length > 5);
    stop.abort();
    expect(await run).toBe(0);
    await activity(sim, 1500);

    stop = new AbortController();
    run = syncInProcess(flags(sim, moved.url, dir), stop.signal);
    await activity(sim, 1500);
    const expected = expectedTransactions(sim.campaign, since);
    await waitFor("the new receiver has every transaction", async () => deliveryProblems(expected, moved.requests).length === 0, 60).catch(
      () => {},
    );
    stop.abort();
    expect(await run).toBe(0);
    expect(summarise(deliveryProblems(expected, moved.requests))).toBe("");
  });

  test("a restart with an earlier --s sends the history it had left out", async () => {
    const sim = simulator(150, 12);
    sim.pauseActivity();
    const hook = receiver({ seed: SEED + 8 });
    const dir = tempDir("webhook-earlier");
    let stop = new AbortController();
    let run = syncInProcess(flags(sim, hook.url, dir), stop.signal);
    await activity(sim, 2000);
    await waitFor("first deliveries", async () => hook.accepted().length > 0, 30);
    stop.abort();
    expect(await run).toBe(0);
    const firstRun = new Set(hook.accepted().map((r) => r.id)).size;

    const since = new Date(Date.now() - 3 * 24 * 3_600_000);
    stop = new AbortController();
    run = syncInProcess(flags(sim, hook.url, dir, "--s", since.toISOString()), stop.signal);
    const expected = expectedTransactions(sim.campaign, since);
    await waitFor("the history arrived", async () => deliveryProblems(expected, hook.requests).length === 0, 60).catch(() => {});
    stop.abort();
    expect(await run).toBe(0);
    expect(summarise(deliveryProblems(expected, hook.requests))).toBe("");
    expect(expected.size).toBeGreaterThan(firstRun + 20); // the history was more than the first run sent
  });

  test("the checkpoint keeps moving while the campaign is busy and deliveries flow", async () => {
    const sim = simulator(150, 13);
    const hook = receiver({ seed: SEED + 9 });
    const dir = tempDir("webhook-checkpoint");
    const stop = new AbortController();
    const run = syncInProcess(flags(sim, hook.url, dir), stop.signal);
    const checkpoint = async () => {
      const store = await openStateStore(`file:${dir}/state.db`);
      try {
        return (await store.getCheckpoint({ campaign: CAMPAIGN, mode: "webhook", target: "" }))?.value ?? "";
      } finally {
        await store.close();
      }
    };
    await waitFor("deliveries flow", async () => hook.accepted().length > 10, 30);
    const first = await checkpoint();
    await Bun.sleep(2500);
    const second = await checkpoint();
    stop.abort();
    expect(await run).toBe(0);
    expect(first).not.toBe("");
    expect(second > first).toBe(true);
  });
});

describe("webhook mode survives SIGKILL", () => {
  test("killed at random moments 12 times and restarted: nothing lost, nothing new twice", async () => {
    const sim = simulator(300, 8);
    sim.pauseActivity();
    const hook = receiver({ seed: SEED + 3, behaviour: { failRate: 0.3 } });
    const dir = tempDir("webhook-crash");
    const since = new Date(Date.now() - 3 * 24 * 3_600_000);
    const argv = flags(sim, hook.url, dir, "--s", since.toISOString(), "--retries", "20");
    const random = seededRandom(SEED);
    const spawn = () =>
      Bun.spawn(["bun", CLI, ...argv], {
        env: { ...process.env, HOME: dir, DBSYNC_LOG_DIR: `${dir}/logs` },
        stdout: "ignore",
        stderr: "pipe",
      });
    sim.resumeActivity();
    let killedWhileDelivering = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawn();
      const before = hook.requests.length;
      await Bun.sleep(300 + random() * 1500);
      if (child.exitCode !== null) throw new Error(`dbsync exited early: ${await new Response(child.stderr).text()}`);
      child.kill("SIGKILL");
      await child.exited;
      if (hook.requests.length > before) killedWhileDelivering++;
    }
    sim.pauseActivity();
    const expected = expectedTransactions(sim.campaign, since);
    // Each start logs one "webhook: transactions of campaign …" line once its signal handlers are
    // set: a SIGTERM before that would end an unprepared process (143), not what this test is about.
    const logs = `${dir}/logs`;
    const starts = () =>
      readdirSync(logs).reduce(
        (n, file) => n + readFileSync(`${logs}/${file}`, "utf8").split("webhook: transactions of campaign").length - 1,
        0,
      );
    const startsBefore = starts();
    const child = spawn();
    await waitFor("dbsync has started", async () => starts() > startsBefore);
    await waitFor("the receiver has every transaction", async () => deliveryProblems(expected, hook.requests).length === 0, 90).catch(
      () => {},
    );
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(summarise(deliveryProblems(expected, hook.requests))).toBe("");
    expect(summarise(overlapProblems(hook.requests))).toBe("");
    expect(killedWhileDelivering).toBeGreaterThanOrEqual(6); // the kills hit deliveries under way
    expect(expected.size).toBeGreaterThan(100);
  });
});

describe("a receiver that is down for a while", () => {
  test("the breaker opens, probes it back, and everything is delivered without dead letters", async () => {
    const sim = simulator(150, 10);
    sim.pauseActivity();
    const hook = receiver({ seed: SEED + 5, behaviour: { down: true } });
    const since = new Date(Date.now() - 2 * 24 * 3_600_000);
    const stop = new AbortController();
    const log: string[] = [];
    const run = syncInProcess(
      flags(sim, hook.url, tempDir("webhook-outage"), "--s", since.toISOString(), "--retry-wait", "0.1"),
      stop.signal,
      log,
    );
    await waitFor("the breaker opens", async () => log.some((line) => line.includes("holding deliveries back")));
    const requestsWhenOpened = hook.requests.length;
    await Bun.sleep(3000);
    // Open: a probe now and then, not a request per delivery and attempt.
    expect(hook.requests.length - requestsWhenOpened).toBeLessThanOrEqual(4);
    hook.behaviour.down = false;
    const expected = expectedTransactions(sim.campaign, since);
    await waitFor("the receiver has every transaction", async () => deliveryProblems(expected, hook.requests).length === 0, 60).catch(
      () => {},
    );
    stop.abort();
    expect(await run).toBe(0);
    expect(summarise(deliveryProblems(expected, hook.requests))).toBe("");
    expect(log.some((line) => line.includes("the receiver answers again"))).toBe(true);
    expect(log.some((line) => line.includes("dead-letter list"))).toBe(false);
  });
});

describe("a receiver that is down for good", () => {
  test("deliveries end in the dead-letter list, the sync goes on, replay delivers them once it is back", async () => {
    const sim = simulator(150, 9);
    sim.pauseActivity();
    const hook = receiver({ seed: SEED + 4, behaviour: { down: true } });
    const dir = tempDir("webhook-dead");
    const state = `file:${dir}/state.db`;
    const since = new Date(Date.now() - 2 * 24 * 3_600_000);
    const stop = new AbortController();
    const log: string[] = [];
    const run = syncInProcess(
      flags(sim, hook.url, dir, "--s", since.toISOString(), "--retries", "3", "--webhook-secret", SECRET),
      stop.signal,
      log,
    );
    const deadLetters = async () => {
      const store = await openStateStore(state);
      try {
        return { pending: await store.outbox.pendingCount(), dead: await store.outbox.failed({}) };
      } finally {
        await store.close();
      }
    };
    const allDead = async (atLeast: number) => {
      const { pending, dead } = await deadLetters();
      return pending === 0 && dead.length >= atLeast;
    };
    const expected = expectedTransactions(sim.campaign, since);
    await waitFor("every delivery is dead", () => allDead(expected.size), 60);
    // Still running, and still picking up new activity while everything fails.
    await activity(sim, 1500);
    const pollsAfterActivity = sim.stats.count({ endpoint: "transactions" });
    await waitFor("more polls", async () => sim.stats.count({ endpoint: "transactions" }) > pollsAfterActivity + 2);
    const afterActivity = expectedTransactions(sim.campaign, since);
    expect(afterActivity.size).toBeGreaterThan(expected.size);
    await waitFor("the new ones are dead too", () => allDead(afterActivity.size), 60);
    stop.abort();
    expect(await run).toBe(0);

    const { dead } = await deadLetters();
    const errors = new Set(dead.map((entry) => `${entry.attempts} ${entry.lastError?.replace(/probe in \d+ s/, "probe in N s")}`));
    expect([...errors].sort()).toEqual([
      "3 HTTP 503: no",
      "3 held back: the receiver keeps failing (last: HTTP 503: no); next probe in N s",
    ]);
    // The breaker held requests back: fewer requests than attempts.
    expect(hook.requests.length).toBeLessThan(dead.length * 3);
    expect(log.some((line) => line.includes("holding deliveries back"))).toBe(true);

    const listed = await runCli(["webhook", "failed", "--state", state]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${dead.length} failed deliveries:`);
    for (const entry of dead.slice(0, 5)) expect(listed.stdout).toContain(entry.id);

    const unsigned = await runCli(["webhook", "replay", "--state", state]);
    expect({ code: unsigned.code, stderr: unsigned.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("DBSYNC_WEBHOOK_SECRET") });

    hook.behaviour.down = false;
    const replayed = await runCli(["webhook", "replay", "--state", state, "--retry-wait", "0.05", "--wr", "400"], {
      env: { DBSYNC_WEBHOOK_SECRET: SECRET },
    });
    expect(replayed.stdout).toContain(`replaying ${dead.length} deliveries`);
    expect(replayed.stdout).toContain(`${dead.length} delivered, 0 failed again`);
    expect(replayed.code).toBe(0);
    expect(summarise(deliveryProblems(afterActivity, hook.requests))).toBe("");
    expect((await runCli(["webhook", "failed", "--state", state])).stdout).toBe("no failed deliveries\n");
  });
});

describe("webhook replay", () => {
  test("a replayed delivery waiting behind a pending one of its contact: both go, replay ends with 0", async () => {
    const hook = receiver({ seed: SEED + 10 });
    const dir = tempDir("webhook-replay-line");
    const state = `file:${dir}/state.db`;
    const store = await openStateStore(state);
    const scope = { campaign: CAMPAIGN };
    const candidate = (transactionId: string) => ({
      contactId: "C1",
      transactionId,
      fired: "2026-11-01T10:00:00.000Z",
      hash: transactionId,
      history: false,
      body: (deliveryState: string) =>
        JSON.stringify({
          contact: { $id: "C1" },
          state: deliveryState,
          transaction: { fired: `2026-11-01T10:00:0${transactionId.slice(1)}.000Z` },
        }),
    });
    const options = { url: hook.url, floor: undefined, signed: false };
    await store.outbox.enqueue(scope, [candidate("t1")], [], options);
    const [first] = await store.outbox.due({ scope }, Date.now(), 10);
    await store.outbox.deadLetter(first?.id ?? "", 10, "HTTP 503", new Date());
    await store.outbox.enqueue(scope, [candidate("t2")], [], options); // the sync is not running
    await store.close();

    const replayed = await runCli(["webhook", "replay", "--state", state, "--retry-wait", "0.05"], { timeoutMs: 20_000 });
    expect({ code: replayed.code, stdout: replayed.stdout }).toEqual({
      code: 0,
      stdout: "replaying 1 delivery\n1 delivered, 0 failed again\n",
    });
    expect(hook.accepted().map((r) => r.fired)).toEqual(["2026-11-01T10:00:02.000Z", "2026-11-01T10:00:01.000Z"]);
  });

  test("replay --c A finishes without touching campaign B, even with B's replay left unfinished", async () => {
    const hook = receiver({ seed: SEED + 11 });
    const dir = tempDir("webhook-replay-scope");
    const state = `file:${dir}/state.db`;
    const store = await openStateStore(state);
    const candidate = (contactId: string) => ({
      contactId,
      transactionId: `t-${contactId}`,
      fired: "2026-11-01T10:00:00.000Z",
      hash: "h",
      history: false,
      body: (deliveryState: string) =>
        JSON.stringify({ contact: { $id: contactId }, state: deliveryState, transaction: { fired: "2026-11-01T10:00:00.000Z" } }),
    });
    const options = { url: hook.url, floor: undefined, signed: false };
    for (const campaign of ["A", "B"]) {
      await store.outbox.enqueue({ campaign }, [candidate(`${campaign}1`)], [], options);
      const [entry] = await store.outbox.due({ scope: { campaign } }, Date.now(), 10);
      await store.outbox.deadLetter(entry?.id ?? "", 10, "HTTP 503", new Date());
    }
    await store.outbox.revive({ campaign: "B" }, Date.now()); // a replay of B, interrupted before it sent anything
    await store.close();

    const replayed = await runCli(["webhook", "replay", "--state", state, "--c", "A", "--retry-wait", "0.05"], { timeoutMs: 20_000 });
    expect({ code: replayed.code, stdout: replayed.stdout }).toEqual({
      code: 0,
      stdout: "replaying 1 delivery\n1 delivered, 0 failed again\n",
    });
    expect(hook.accepted().map((r) => r.contactId)).toEqual(["A1"]);
    const after = await openStateStore(state);
    expect(await after.outbox.pendingCount({ campaigns: ["B"] })).toBe(1);
    await after.close();
  });
});
