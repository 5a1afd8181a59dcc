// The whole sync against the simulator over real HTTP, into a real libSQL file.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { openStateStore } from "../src/state/open.ts";
import { openDialect } from "../src/dialects/index.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { describe as describeDiff, expectedRows, targetDifferences, until } from "./helpers/compare.ts";
import { syncInProcess, tempDir } from "./helpers/run.ts";

// Each test runs a real sync over HTTP; with injected faults its retries take seconds.
setDefaultTimeout(60_000);

const TOKEN = "e2e-token-0123456789";
const CAMPAIGN = "E2ECAMPAIGN00001";

function flags(sim: RunningSimulator, dir: string, ...extra: string[]): string[] {
  return [
    "--c",
    CAMPAIGN,
    "--ct",
    TOKEN,
    "--api-url",
    sim.url,
    "--url",
    `file:${dir}/target.db`,
    "--state",
    `file:${dir}/state.db`,
    "--w",
    "8",
    ...extra,
  ];
}

function differences(sim: RunningSimulator, dir: string, filter = {}, prefix = "") {
  return targetDifferences(`file:${dir}/target.db`, sim.campaign, filter, prefix);
}

describe("db_init", () => {
  let sim: RunningSimulator;
  const dir = tempDir("init");
  beforeAll(() => {
    sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 600, seed: 11 });
  });
  afterAll(() => sim.stop());

  test("copies the whole campaign: every row, no extras", async () => {
    expect(await syncInProcess(["--a", "db_init", ...flags(sim, dir)])).toBe(0);
    const diff = await differences(sim, dir);
    expect(describeDiff(diff)).toBe("");
    const dialect = await openDialect(`file:${dir}/target.db`);
    const [{ n }] = (await dialect.all<{ n: number }>(`SELECT COUNT(*) AS n FROM "transactions"`)) as [{ n: number }];
    await dialect.close();
    expect(n).toBeGreaterThan(600); // the campaign has history, the comparison is not vacuous
  });

  test("running it again fetches nothing and changes nothing", async () => {
    const fetchesBefore = sim.stats.count({ endpoint: "contactsFetch" });
    const dialect = await openDialect(`file:${dir}/target.db`);
    const changedBefore = await dialect.all(`SELECT "$id", "$changed" FROM "contacts" ORDER BY "$id"`);
    expect(await syncInProcess(["--a", "db_init", ...flags(sim, dir)])).toBe(0);
    const changedAfter = await dialect.all(`SELECT "$id", "$changed" FROM "contacts" ORDER BY "$id"`);
    await dialect.close();
    expect(changedAfter).toEqual(changedBefore);
    expect(describeDiff(await differences(sim, dir))).toBe("");
    expect(sim.stats.count({ endpoint: "contactsFetch" })).toBe(fetchesBefore);
  });

  test("a changed contact is fetched again, the others are not", async () => {
    const summary = sim.campaign.tick();
    expect(summary.changedContacts.length).toBeGreaterThan(0);
    expect(await syncInProcess(["--a", "db_init", ...flags(sim, dir)])).toBe(0);
    expect(describeDiff(await differences(sim, dir))).toBe("");
  });

  test("table prefix: tables dfire_*", async () => {
    const prefixed = tempDir("prefix");
    expect(await syncInProcess(["--a", "db_init", ...flags(sim, prefixed, "--tp", "dfire_")])).toBe(0);
    expect(describeDiff(await differences(sim, prefixed, {}, "dfire_"))).toBe("");
  });
});

describe("filters select exactly the right transactions", () => {
  let sim: RunningSimulator;
  beforeAll(() => {
    sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 300, seed: 5 });
  });
  afterAll(() => sim.stop());

  for (const [fm, fp] of [
    ["updates_only", ""],
    ["hi_updates_only", ""],
    ["", "fc_,qc_"],
    ["hi_updates_only", "fc_"],
  ] as const) {
    test(`--fm ${fm || "(none)"} --fp ${fp || "(none)"}`, async () => {
      const dir = tempDir("filter");
      const extra = [...(fm ? ["--fm", fm] : []), ...(fp ? ["--fp", fp] : [])];
      expect(await syncInProcess(["--a", "db_init", ...flags(sim, dir, ...extra)])).toBe(0);
      const filter = { mode: fm || undefined, taskPrefixes: fp ? fp.split(",") : undefined };
      expect(describeDiff(await differences(sim, dir, filter))).toBe("");
      // and the filter really removed something
      const all = expectedRows(sim.campaign.contacts(), [], {}).transactions.length;
      const kept = expectedRows(sim.campaign.contacts(), [], filter).transactions.length;
      expect(kept).toBeLessThan(all);
      expect(kept).toBeGreaterThan(0);
    });
  }
});

describe("db_update", () => {
  test("only contacts changed in the last 7 days (by default)", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 300, seed: 9 });
    const dir = tempDir("update");
    try {
      expect(await syncInProcess(["--a", "db_update", ...flags(sim, dir)])).toBe(0);
      const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
      const recent = sim.campaign.contacts().filter((c) => sim.campaign.changedDay(c.$id) >= weekAgo);
      expect(recent.length).toBeGreaterThan(0);
      expect(recent.length).toBeLessThan(300);
      const dialect = await openDialect(`file:${dir}/target.db`);
      const ids = (await dialect.all<{ id: string }>(`SELECT "$id" AS id FROM "contacts"`)).map((r) => r.id).sort();
      await dialect.close();
      expect(ids).toEqual(recent.map((c) => c.$id).sort());
    } finally {
      await sim.stop();
    }
  });
});

describe("db_sync", () => {
  test("catches up, then picks up new activity within one interval (plus the poll's own time); a stop exits 0", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 300, seed: 21 });
    const dir = tempDir("sync");
    const stop = new AbortController();
    const done = syncInProcess(["--a", "db_sync", "--interval", "2", ...flags(sim, dir)], stop.signal);
    const state = await openStateStore(`file:${dir}/state.db`);
    try {
      const key = { campaign: CAMPAIGN, mode: "db_sync", target: `file:${dir}/target.db|` };
      expect(await until(async () => (await state.getCheckpoint(key)) !== undefined, 20_000)).toBe(true);
      expect(describeDiff(await differences(sim, dir))).toBe("");

      for (let round = 0; round < 3; round++) {
        const summary = sim.campaign.tick();
        expect(summary.newTransactions.length + summary.modifiedTransactions.length).toBeGreaterThan(0);
        const started = Date.now();
        // one interval (2 s) plus the time the poll and this comparison take on a busy machine
        const caughtUp = await until(async () => (await differences(sim, dir)).length === 0, 4500);
        expect(caughtUp ? "" : describeDiff(await differences(sim, dir))).toBe("");
        expect(Date.now() - started).toBeLessThan(4500);
      }
    } finally {
      stop.abort();
      await state.close();
      await sim.stop();
    }
    expect(await done).toBe(0);
  });

  test("a field added to the campaign while running becomes a column with its values", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 100, seed: 3 });
    const dir = tempDir("fields");
    const stop = new AbortController();
    const done = syncInProcess(["--a", "db_sync", "--interval", "0.5", ...flags(sim, dir)], stop.signal);
    try {
      // caught up first, so the field really arrives while db_sync runs
      expect(await until(async () => (await differences(sim, dir)).length === 0, 15_000)).toBe(true);
      const fieldsBefore = sim.campaign.fields().length;
      let added = false;
      for (let i = 0; i < 400 && !added; i++) added = sim.campaign.tick().newFields.length > 0;
      expect(added).toBe(true);
      expect(sim.campaign.fields().length).toBeGreaterThan(fieldsBefore);
      const newField = sim.campaign.fields().at(-1)?.name as string;
      const contactColumns = async () => {
        const dialect = await openDialect(`file:${dir}/target.db`);
        try {
          return await dialect.existingColumns("contacts");
        } finally {
          await dialect.close();
        }
      };
      // the comparison skips columns the table lacks, so the new column is asked for by name
      const arrived = await until(
        async () => (await contactColumns()).includes(newField) && (await differences(sim, dir)).length === 0,
        15_000,
      );
      expect(arrived ? "" : describeDiff(await differences(sim, dir))).toBe("");
      expect(await contactColumns()).toContain(newField);
    } finally {
      stop.abort();
      await sim.stop();
    }
    expect(await done).toBe(0);
  });
});

describe("faults", () => {
  test("with 20% injected faults (500, 429, malformed) the result is identical", async () => {
    const sim = startSimulator({
      campaignId: CAMPAIGN,
      token: TOKEN,
      contacts: 1500,
      seed: 13,
      faults: { errorRate: 0.08, rateLimitRate: 0.06, malformedRate: 0.06, retryAfterSeconds: 1 },
    });
    const dir = tempDir("faults");
    try {
      expect(await syncInProcess(["--a", "db_init", ...flags(sim, dir, "--api-retries", "12")])).toBe(0);
      expect(describeDiff(await differences(sim, dir))).toBe("");
      for (const outcome of ["serverError", "rateLimited", "malformed"] as const) {
        expect(sim.stats.count({ outcome })).toBeGreaterThan(0);
      }
    } finally {
      await sim.stop();
    }
  });
});

describe("db_sync safety nets", () => {
  test("the periodic re-listing brings contact changes that the filtered events did not announce", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 200, seed: 29 });
    const dir = tempDir("relist");
    const filter = { mode: "hi_updates_only" as const };
    const stop = new AbortController();
    // a re-listing every 0.002 h = 7.2 s
    const done = syncInProcess(
      ["--a", "db_sync", "--interval", "0.5", "--relist", "0.002", "--fm", "hi_updates_only", ...flags(sim, dir)],
      stop.signal,
    );
    try {
      expect(await until(async () => (await differences(sim, dir, filter)).length === 0, 15_000)).toBe(true);
      for (let i = 0; i < 5; i++) sim.campaign.tick();
      await Bun.sleep(2000);
      // events with hi=true leave out system updates: those contacts are behind until the re-listing
      const behind = await differences(sim, dir, filter);
      expect(behind.find((d) => d.table === "contacts")?.different.length ?? 0).toBeGreaterThan(0);
      const caughtUp = await until(async () => (await differences(sim, dir, filter)).length === 0, 12_000);
      expect(caughtUp ? "" : describeDiff(await differences(sim, dir, filter))).toBe("");
    } finally {
      stop.abort();
      await sim.stop();
    }
    expect(await done).toBe(0);
  });

  test("with 20% injected faults while the campaign changes, db_sync still ends up identical", async () => {
    const sim = startSimulator({
      campaignId: CAMPAIGN,
      token: TOKEN,
      contacts: 400,
      seed: 31,
      activityIntervalMs: 200,
      faults: { errorRate: 0.08, rateLimitRate: 0.06, malformedRate: 0.06, retryAfterSeconds: 1 },
    });
    const dir = tempDir("sync-faults");
    const stop = new AbortController();
    const done = syncInProcess(["--a", "db_sync", "--interval", "0.5", "--api-retries", "12", ...flags(sim, dir)], stop.signal);
    try {
      await Bun.sleep(6000);
      sim.pauseActivity();
      const caughtUp = await until(async () => (await differences(sim, dir)).length === 0, 30_000);
      expect(caughtUp ? "" : describeDiff(await differences(sim, dir))).toBe("");
      expect(sim.stats.count({ outcome: "serverError" })).toBeGreaterThan(0);
    } finally {
      stop.abort();
      await sim.stop();
    }
    expect(await done).toBe(0);
  });
});
