// The campaign assembly on its own: several campaigns built in one process over one shared state
// store, each with its own logger, as a process running many campaigns will do.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { createConsola } from "consola";
import { assembleCampaign } from "../src/campaign/assemble.ts";
import type { CampaignSettings } from "../src/campaign/settings.ts";
import { DialfireAuthError } from "../src/core/dialfire/client.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import type { SyncMode } from "../src/core/sync/options.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { describe as describeDiff, targetDifferences, until } from "./helpers/compare.ts";
import { type FreshDatabase, freshDatabase } from "./helpers/databases.ts";
import { tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

function settings(sim: RunningSimulator, campaign: string, token: string, mode: SyncMode, url: string): CampaignSettings {
  return {
    mode,
    campaign,
    token,
    url,
    tablePrefix: "",
    workers: 8,
    apiUrl: sim.url,
    intervalSeconds: 0.3,
    relistHours: 12,
    lookbackMinutes: 2,
    apiTimeoutSeconds: 30,
    apiAttempts: 3,
    webhook: { rate: 5, burst: 10, attempts: 10, retryWaitSeconds: 1, timeoutSeconds: 30 },
  };
}

/** A logger of one campaign, keeping its lines apart from the other's. */
function campaignLog(lines: string[]) {
  return createConsola({ level: 4, reporters: [{ log: (entry) => void lines.push(entry.args.map(String).join(" ")) }] });
}

describe("campaigns assembled side by side over one state store", () => {
  const dir = tempDir("assembly");
  const first = { id: "ASSEMBLYFIRST001", token: "assembly-first-token-0123456789" };
  const second = { id: "ASSEMBLYSECOND01", token: "assembly-second-token-0123456789" };
  let simFirst: RunningSimulator;
  let simSecond: RunningSimulator;
  let postgres: FreshDatabase;
  let state: StateStore;

  beforeAll(async () => {
    simFirst = startSimulator({ campaignId: first.id, token: first.token, contacts: 300, seed: 41 });
    simSecond = startSimulator({ campaignId: second.id, token: second.token, contacts: 250, seed: 43 });
    postgres = await freshDatabase("postgres");
    state = await openStateStore(`file:${dir}/state.db`);
  });
  afterAll(async () => {
    await state.close();
    await Promise.all([simFirst.stop(), simSecond.stop()]);
    await postgres.drop();
  });

  test("a db_init into libSQL and a db_sync into PostgreSQL run at once; each ends equal to its campaign", async () => {
    const firstUrl = `file:${dir}/first.db`;
    const firstLines: string[] = [];
    const secondLines: string[] = [];
    const stop = new AbortController();
    const init = assembleCampaign(settings(simFirst, first.id, first.token, "db_init", firstUrl), {
      state,
      log: campaignLog(firstLines),
      signal: new AbortController().signal,
    });
    const sync = assembleCampaign(settings(simSecond, second.id, second.token, "db_sync", postgres.url), {
      state,
      log: campaignLog(secondLines),
      signal: stop.signal,
    });
    const syncing = sync.run().catch((error: unknown) => {
      if (!stop.signal.aborted) throw error;
    });
    try {
      const initStats = await init.run();
      expect(initStats?.listed).toBe(300);
      expect(describeDiff(await targetDifferences(firstUrl, simFirst.campaign))).toBe("");
      // The db_sync keeps going: activity after its first pass reaches its target too.
      simSecond.campaign.tick();
      const caughtUp = await until(async () => (await targetDifferences(postgres.url, simSecond.campaign)).length === 0, 30_000);
      expect(describeDiff(await targetDifferences(postgres.url, simSecond.campaign))).toBe("");
      expect(caughtUp).toBe(true);
    } finally {
      stop.abort();
      await syncing;
      await Promise.all([init.close(), sync.close()]);
    }

    const checkpoints = await state.listCheckpoints();
    const of = (campaign: string) => checkpoints.filter((c) => c.campaign === campaign);
    expect(of(first.id).map((c) => [c.mode, c.target])).toEqual([["db_init", `${firstUrl}|`]]);
    expect(of(second.id)).toHaveLength(1);
    expect(of(second.id)[0]?.mode).toBe("db_sync");
    expect(of(second.id)[0]?.target).toEndWith("|");
    expect(of(second.id)[0]?.target).toStartWith("postgres://");
    // Each campaign's logger heard of its own campaign only.
    expect(firstLines.join("\n")).toContain(`db_init of campaign ${first.id}`);
    expect(firstLines.join("\n")).not.toContain(second.id);
    expect(secondLines.join("\n")).toContain(`db_sync of campaign ${second.id}`);
    expect(secondLines.join("\n")).not.toContain(first.id);
  });

  test("a campaign with a wrong token fails alone with its error while the other finishes", async () => {
    const wrongUrl = `file:${dir}/wrong-token.db`;
    const goodUrl = `file:${dir}/good.db`;
    const signal = new AbortController().signal;
    const wrong = assembleCampaign(settings(simSecond, second.id, "not-the-token-0123456789", "db_sync", wrongUrl), {
      state,
      log: campaignLog([]),
      signal,
    });
    const good = assembleCampaign(settings(simFirst, first.id, first.token, "db_init", goodUrl), { state, log: campaignLog([]), signal });
    const [failed, finished] = await Promise.allSettled([wrong.run(), good.run()]);
    await Promise.all([wrong.close(), good.close()]);

    expect(failed.status).toBe("rejected");
    expect((failed as PromiseRejectedResult).reason).toBeInstanceOf(DialfireAuthError);
    expect(finished.status).toBe("fulfilled");
    expect(describeDiff(await targetDifferences(goodUrl, simFirst.campaign))).toBe("");
    // Refused before anything was opened: no target file, and the shared store still serves the rest.
    expect(existsSync(`${dir}/wrong-token.db`)).toBe(false);
    expect((await state.listCheckpoints()).some((c) => c.target === `${goodUrl}|`)).toBe(true);
  });
});
