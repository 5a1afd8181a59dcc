// SIGKILL at random moments, then restart: the final database must equal the campaign, nothing
// missing, nothing extra. The kill moments come from a seeded generator so a failure can be replayed.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { openDialect } from "../src/dialects/index.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { describe as describeDiff, targetDifferences } from "./helpers/compare.ts";
import { seededRandom } from "./helpers/random.ts";
import { CLI, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(180_000);

const TOKEN = "crash-token-0123456789";
const CAMPAIGN = "CRASHCAMPAIGN001";
const SEED = Number(process.env.CRASH_SEED ?? 20261122);

function spawnSync(sim: RunningSimulator, dir: string, mode: string, ...extra: string[]) {
  return Bun.spawn(
    ["bun", CLI, ...flatFlags(mode, CAMPAIGN, TOKEN, sim.url, `file:${dir}/target.db`, `file:${dir}/state.db`), "--w", "4", ...extra],
    { env: { ...process.env, HOME: dir, DBSYNC_LOG_DIR: join(dir, "logs") }, stdout: "ignore", stderr: "pipe" },
  );
}

/** Runs the sync and kills it after `delayMs` unless it ended before; true when it was killed. */
async function runAndKill(sim: RunningSimulator, dir: string, mode: string, delayMs: number, ...extra: string[]): Promise<boolean> {
  const child = spawnSync(sim, dir, mode, ...extra);
  const ended = await Promise.race([child.exited.then(() => true), Bun.sleep(delayMs).then(() => false)]);
  if (ended) {
    const stderr = await new Response(child.stderr).text();
    expect({ code: child.exitCode, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    return false;
  }
  child.kill("SIGKILL");
  await child.exited;
  return true;
}

/** Rows in the transactions table (0 before the first run created it); every tick adds some. */
async function transactionsWritten(dir: string): Promise<number> {
  const dialect = await openDialect(`file:${dir}/target.db`);
  try {
    const [row] = await dialect.all<{ n: number }>(`SELECT COUNT(*) AS n FROM "transactions"`);
    return Number(row?.n ?? 0);
  } catch {
    return 0;
  } finally {
    await dialect.close();
  }
}

async function differences(sim: RunningSimulator, dir: string): Promise<string> {
  return describeDiff(await targetDifferences(`file:${dir}/target.db`, sim.campaign));
}

describe(`SIGKILL at random moments (seed ${SEED})`, () => {
  test("db_init killed 20 times, then finished: equals the campaign", async () => {
    // Slow answers stretch one run so that kills land in every phase: start, listing, writes.
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 3000, seed: 41, faults: { slowRate: 1, slowMs: 25 } });
    const dir = tempDir("crash-init");
    const next = seededRandom(SEED);
    try {
      let kills = 0;
      let killedMidWrite = 0;
      for (let run = 0; kills < 20 && run < 60; run++) {
        // new activity between runs, so that every restart has contacts to fetch and write
        for (let i = 0; i < 20; i++) sim.campaign.tick();
        const before = await transactionsWritten(dir);
        if (await runAndKill(sim, dir, "db_init", 200 + next() * 1300)) {
          kills++;
          if ((await transactionsWritten(dir)) > before) killedMidWrite++;
        }
      }
      expect(kills).toBe(20);
      // most kills landed after the run had written something, not during start-up
      expect(killedMidWrite).toBeGreaterThanOrEqual(10);
      expect(await runAndKill(sim, dir, "db_init", 120_000)).toBe(false);
      expect(await differences(sim, dir)).toBe("");
    } finally {
      await sim.stop();
    }
  });

  test("db_sync killed 10 times while the campaign changes, then caught up: equals the campaign", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 1500, seed: 43, activityIntervalMs: 100 });
    const dir = tempDir("crash-sync");
    const next = seededRandom(SEED + 1);
    try {
      for (let kills = 0; kills < 10; ) {
        if (await runAndKill(sim, dir, "db_sync", 300 + next() * 2000, "--interval", "0.3")) kills++;
      }
      sim.pauseActivity();
      const child = spawnSync(sim, dir, "db_sync", "--interval", "0.3");
      const deadline = Date.now() + 30_000;
      let diff = "?";
      while (Date.now() < deadline) {
        await Bun.sleep(300);
        diff = await differences(sim, dir).catch((error) => String(error));
        if (diff === "") break;
      }
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(diff).toBe("");
    } finally {
      await sim.stop();
    }
  });
});
