// The same campaign synced into every SQL target (db_init, then db_sync while it changes): each ends
// up holding exactly the campaign's rows. One body, run against libSQL, PostgreSQL and MariaDB.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { describe as describeDiff, targetDifferences, until } from "./helpers/compare.ts";
import { type FreshDatabase, freshDatabase, postgresServer } from "./helpers/databases.ts";
import { syncInProcess, tempDir } from "./helpers/run.ts";

setDefaultTimeout(120_000);

const TOKEN = "targets-token-0123456789";
const CAMPAIGN = "TARGETSCAMPAIGN1";

const databases: FreshDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

const TARGETS: [string, () => Promise<string>][] = [
  ["libSQL", async () => `file:${tempDir("targets")}/target.db`],
  ["PostgreSQL", async () => databases[databases.push(await freshDatabase("postgres")) - 1]!.url],
  ["MariaDB", async () => databases[databases.push(await freshDatabase("mysql")) - 1]!.url],
];

function flags(sim: RunningSimulator, url: string, state: string, ...extra: string[]): string[] {
  return ["--c", CAMPAIGN, "--ct", TOKEN, "--api-url", sim.url, "--url", url, "--state", state, "--w", "8", ...extra];
}

describe.each(TARGETS)("%s", (_name, makeUrl) => {
  test("db_init, then db_sync while the campaign changes: the target holds exactly the campaign", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 400, seed: 61 });
    const url = await makeUrl();
    const state = `file:${tempDir("targets-state")}/state.db`;
    try {
      expect(await syncInProcess(["--a", "db_init", ...flags(sim, url, state, "--tp", "dfire_")])).toBe(0);
      expect(describeDiff(await targetDifferences(url, sim.campaign, {}, "dfire_"))).toBe("");

      const stop = new AbortController();
      const done = syncInProcess(["--a", "db_sync", "--interval", "0.5", ...flags(sim, url, state, "--tp", "dfire_")], stop.signal);
      // activity while db_sync runs, until a new field has arrived too
      let newFields = 0;
      for (let i = 0; i < 2000 && (i < 120 || newFields === 0); i++) newFields += sim.campaign.tick().newFields.length;
      expect(newFields).toBeGreaterThan(0);
      const caughtUp = await until(async () => (await targetDifferences(url, sim.campaign, {}, "dfire_")).length === 0, 30_000);
      stop.abort();
      expect(await done).toBe(0);
      expect(caughtUp ? "" : describeDiff(await targetDifferences(url, sim.campaign, {}, "dfire_"))).toBe("");
    } finally {
      await sim.stop();
    }
  });
});

describe("PostgreSQL goes away in the middle of db_sync", () => {
  test("the sync waits, retries, and resumes with nothing lost", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 200, seed: 63 });
    const database = await freshDatabase("postgres");
    databases.push(database);
    const state = `file:${tempDir("outage-state")}/state.db`;
    const stop = new AbortController();
    const log: string[] = [];
    const done = syncInProcess(["--a", "db_sync", "--interval", "0.5", ...flags(sim, database.url, state)], stop.signal, log);
    try {
      expect(await until(async () => (await targetDifferences(database.url, sim.campaign)).length === 0, 30_000)).toBe(true);
      postgresServer.stop();
      try {
        for (let i = 0; i < 5; i++) sim.campaign.tick();
        await Bun.sleep(3000); // several polls find the database gone
      } finally {
        postgresServer.start();
      }
      const caughtUp = await until(async () => (await targetDifferences(database.url, sim.campaign)).length === 0, 60_000);
      // on failure, what the sync said is the first thing to read
      expect(
        caughtUp ? "" : `${describeDiff(await targetDifferences(database.url, sim.campaign))}\nsync log:\n${log.slice(-15).join("\n")}`,
      ).toBe("");
      // it waited for the database (transient errors), not merely failed polls and tried again
      expect(log.some((line) => line.includes("the target database is unreachable"))).toBe(true);
      expect(log.some((line) => line.includes("the target database is back"))).toBe(true);
    } finally {
      stop.abort();
      await sim.stop();
    }
    expect(await done).toBe(0);
  });
});
