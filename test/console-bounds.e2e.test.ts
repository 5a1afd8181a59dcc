// Events that come by the dozen, seen from the console: dead letters and failed probes of a webhook
// receiver that is down, retries of a flaky API. The console gets the first and then counts; the log
// file keeps one line for each.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openStateStore } from "../src/state/open.ts";
import { startSimulator } from "../src/simulator/serve.ts";
import { expectedTransactions } from "./helpers/deliveries.ts";
import { waitFor } from "./helpers/expect.ts";
import { startReceiver } from "./helpers/receiver.ts";
import { CLI, runCli, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(120_000);

const TOKEN = "webhook-console-token-0123456789";
const CAMPAIGN = "WEBHOOKCONSOLE01";

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const part of running.splice(0)) await part.stop();
});

test("a receiver down for good: a few console lines for dozens of dead letters, one log file line each", async () => {
  const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 20, seed: 81 });
  const hook = startReceiver({ seed: 81, behaviour: { down: true } });
  running.push(sim, hook);
  const dir = tempDir("webhook-console");
  const since = new Date(Date.now() - 60 * 24 * 3_600_000);
  const expected = expectedTransactions(sim.campaign, since);
  expect(expected.size).toBeGreaterThan(20); // dozens of dead letters
  const child = Bun.spawn(
    [
      "bun",
      CLI,
      ...flatFlags("webhook", CAMPAIGN, TOKEN, sim.url, hook.url, `file:${dir}/state.db`),
      "--s",
      since.toISOString(),
      "--interval",
      "0.3",
      "--retries",
      "2",
      "--retry-wait",
      "0.05",
      "--webhook-timeout",
      "0.5",
    ],
    { env: { ...process.env, HOME: dir, DBSYNC_LOG_DIR: join(dir, "logs") }, stdout: "pipe", stderr: "pipe" },
  );
  const stderr = new Response(child.stderr).text();
  const deadLetters = async () => {
    const store = await openStateStore(`file:${dir}/state.db`);
    try {
      return (await store.outbox.pendingCount()) === 0 ? (await store.outbox.failed({})).map((entry) => entry.id) : [];
    } finally {
      await store.close();
    }
  };
  await waitFor("every delivery is dead", async () => (await deadLetters()).length >= expected.size, 90);
  await Bun.sleep(1500); // failed probes go on meanwhile
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  const lines = (await stderr).trim().split("\n");

  const deadLetterLines = lines.filter((line) => line.includes("dead-letter list"));
  // The first at once; the rest as one count, at the latest when the run ends.
  expect(deadLetterLines.length).toBeGreaterThanOrEqual(1);
  expect(deadLetterLines.length).toBeLessThanOrEqual(2);
  expect(deadLetterLines.at(-1)).toContain("dbsync webhook failed");
  expect(lines.filter((line) => line.includes("holding deliveries back")).length).toBeLessThanOrEqual(1);
  expect(lines.length).toBeLessThan(12);

  const [logName] = readdirSync(join(dir, "logs"));
  const log = readFileSync(join(dir, "logs", logName as string), "utf8")
    .trim()
    .split("\n");
  const perDeadLetter = log.filter((line) =>
    / WARN delivery msg_\S+ \(contact \S+, transaction fired \S+\) is in the dead-letter list after 2 attempts: /.test(line),
  );
  expect(new Set(perDeadLetter.map((line) => /msg_\S+/.exec(line)?.[0])).size).toBe(perDeadLetter.length);
  const dead = await deadLetters();
  expect(perDeadLetter).toHaveLength(dead.length);
  for (const id of dead) expect(perDeadLetter.some((line) => line.includes(`delivery ${id} `))).toBe(true);
  // No body: neither the contact nor the transaction as sent.
  expect(log.some((line) => line.includes('"contact":') || line.includes('"transaction":'))).toBe(false);
});

test("a flaky API: a few console lines for many retries, one log file line each", async () => {
  const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 300, seed: 82, faults: { errorRate: 0.4 } });
  running.push(sim);
  const dir = tempDir("api-retries");
  const result = await runCli(
    [...flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--api-retries", "20"],
    { env: { DBSYNC_LOG_DIR: join(dir, "logs") } },
  );
  expect(result.code).toBe(0);
  const retried = sim.stats.count({ outcome: "serverError" });
  expect(retried).toBeGreaterThan(5);
  const lines = result.stderr.trim().split("\n");
  expect(lines.filter((line) => line.includes("attempt")).length).toBeLessThanOrEqual(2);
  expect(lines.at(-1)).toMatch(
    /^warning: \d+ more API requests were tried again \(\d+ in this run; each in the log file\); the last: API /,
  );
  const [logName] = readdirSync(join(dir, "logs"));
  const log = readFileSync(join(dir, "logs", logName as string), "utf8");
  expect(log.match(/ WARN API \S+ attempt \d+ failed \(/g)?.length).toBe(retried);
});
