// db_sync's checkpoint over hours and days of simulated time: the simulator and the pipeline share a
// clock the test moves, so outages and restarts days apart take milliseconds.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createDialfireClient, DialfireAuthError } from "../src/core/dialfire/client.ts";
import { TargetError } from "../src/core/sql/dialect.ts";
import { createSqlSink } from "../src/core/sql/sink.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import type { Sink } from "../src/core/sync/sink.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import type { DialfireSource } from "../src/core/sync/source.ts";
import { runSync, SyncError } from "../src/core/sync/pipeline.ts";
import { openDialect } from "../src/dialects/index.ts";
import { startSimulator } from "../src/simulator/serve.ts";
import { compareWithCampaign, describe as describeDiff, expectedRows, targetDifferences, until } from "./helpers/compare.ts";
import { CAMPAIGN, closeHarnesses, HOUR, harness, KEY, passed, silent } from "./helpers/db-sync-harness.ts";
import { tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

afterEach(closeHarnesses);

describe("new fields", () => {
  test("db_init meeting a contact with a field its field list lacked reads the list again and stores the values", async () => {
    const dir = tempDir("stale-fields");
    const sim = startSimulator({ campaignId: CAMPAIGN, token: "t", contacts: 60, seed: 55 });
    try {
      const client = createDialfireClient({ baseUrl: sim.url, campaign: CAMPAIGN, token: "t" });
      const staleFields = await client.fields();
      let added = false;
      for (let i = 0; i < 400 && !added; i++) added = sim.campaign.tick().newFields.length > 0;
      expect(added).toBe(true);
      // the first read of the field list predates the new field, as if it was added during the run
      let reads = 0;
      const source: DialfireSource = { ...client, fields: async (signal) => (reads++ === 0 ? staleFields : client.fields(signal)) };
      const target = new SqlTarget(await openDialect(`file:${dir}/target.db`), "");
      const state = await openStateStore(`file:${dir}/state.db`);
      await runSync({
        mode: "db_init",
        source,
        sink: createSqlSink(target, { filter: {} }),
        state,
        checkpointKey: KEY,
        eventFilters: {},
        workers: 4,
        intervalMs: 1000,
        log: silent,
        signal: new AbortController().signal,
      });
      await target.close();
      await state.close();
      expect(reads).toBeGreaterThan(1);
      const dialect = await openDialect(`file:${dir}/target.db`);
      const expected = expectedRows(sim.campaign.contacts(), sim.campaign.inboundCalls(), {});
      const diff = describeDiff(await compareWithCampaign(dialect, "", expected));
      const columns = await dialect.existingColumns("contacts");
      await dialect.close();
      expect(columns).toContain(sim.campaign.fields().at(-1)?.name as string);
      expect(diff).toBe("");
    } finally {
      await sim.stop();
    }
  });
});

describe("db_sync checkpoint", () => {
  test("a failing window keeps the checkpoint where it was; the next success covers the gap", async () => {
    const h = await harness(51);
    h.start();
    expect(await passed(h, h.clock.ms())).toBe(true);
    h.outage.events = true;
    await Bun.sleep(50); // the poll under way finishes
    const before = await h.checkpoint();

    h.clock.jump(10 * 60_000);
    h.sim.campaign.tick();
    const activity = h.clock.ms();
    await Bun.sleep(300); // many failed polls
    expect(await h.checkpoint()).toBe(before);

    h.outage.events = false;
    expect(await passed(h, activity)).toBe(true);
    expect(await h.differences()).toBe("");
  });

  test("after an outage of hours, every window in between is fetched, inbound calls included", async () => {
    const h = await harness(52);
    h.start();
    expect(await passed(h, h.clock.ms())).toBe(true);
    const callsBefore = h.sim.campaign.inboundCalls().length;

    h.outage.events = true;
    for (let hour = 0; hour < 5; hour++) {
      h.clock.jump(HOUR);
      for (let i = 0; i < 3; i++) h.sim.campaign.tick();
    }
    const activity = h.clock.ms();
    expect(h.sim.campaign.inboundCalls().length).toBeGreaterThan(callsBefore);
    await Bun.sleep(100);
    h.outage.events = false;

    expect(await passed(h, activity)).toBe(true);
    expect(await h.differences()).toBe("");
  });

  test("a first listing of everything waits for its turn; the catch-up after a short stop does not", async () => {
    const h = await harness(59);
    let turns = 0;
    const listingTurn = <T>(listing: () => Promise<T>) => {
      turns++;
      return listing();
    };
    const first = h.start({ listingTurn });
    expect(await passed(h, h.clock.ms())).toBe(true);
    await first.stop();
    expect(turns).toBe(1);
    h.clock.jump(HOUR);
    h.sim.campaign.tick();
    const activity = h.clock.ms();
    h.start({ listingTurn });
    expect(await passed(h, activity)).toBe(true);
    expect(turns).toBe(1);
    expect(await h.differences()).toBe("");
  });

  test("a restart two days later resumes from the checkpoint and loses nothing", async () => {
    const h = await harness(53);
    const first = h.start();
    expect(await passed(h, h.clock.ms())).toBe(true);
    await first.stop();

    for (let step = 0; step < 8; step++) {
      h.clock.jump(6 * HOUR);
      h.sim.campaign.tick();
    }
    const activity = h.clock.ms();
    h.start();
    expect(await passed(h, activity)).toBe(true);
    expect(await h.differences()).toBe("");
  });

  test("polls that keep failing end db_sync with an error instead of retrying silently for ever", async () => {
    const h = await harness(54);
    const run = h.start({ maxFailedCycles: 3 });
    expect(await passed(h, h.clock.ms())).toBe(true);
    h.outage.events = true;
    const error = await run.done;
    expect(error).toBeInstanceOf(SyncError);
    expect((error as Error).message).toContain("no poll succeeded 3 times in a row; the last error: simulated outage");
  });

  test("a refused token ends db_sync at the first failed poll: no retry can mend it", async () => {
    const h = await harness(56);
    // Thousands of cycles 20 ms apart: only an error known to be fatal ends the run within the test.
    const run = h.start({ maxFailedCycles: 10_000 });
    expect(await passed(h, h.clock.ms())).toBe(true);
    h.outage.error = new DialfireAuthError("the API refused the token (403)");
    h.outage.events = true;
    const error = await run.done;
    expect(error).toBeInstanceOf(DialfireAuthError);
  });
});

describe("db_init, then db_sync", () => {
  test("db_sync goes on from a complete db_init into the same target instead of listing everything again", async () => {
    const h = await harness(57);
    const base = {
      source: createDialfireClient({ baseUrl: h.sim.url, campaign: CAMPAIGN, token: "t" }),
      state: h.state,
      eventFilters: {},
      workers: 4,
      intervalMs: 20,
      now: h.clock.now,
      log: silent,
      signal: new AbortController().signal,
    };
    const dir = tempDir("init-then-sync");
    const target = new SqlTarget(await openDialect(`file:${dir}/target.db`), "");
    const sink = createSqlSink(target, { filter: {}, now: h.clock.now });
    const initKey = { ...KEY, mode: "db_init", target: "init-then-sync" };
    await runSync({ ...base, mode: "db_init", sink, checkpointKey: initKey });
    expect(await h.state.getCheckpoint(initKey)).toBeDefined();

    h.clock.jump(3 * 24 * HOUR); // days later, a few contacts change
    h.sim.campaign.tick();
    const syncKey = { ...initKey, mode: "db_sync" };
    const controller = new AbortController();
    let listed = 0;
    const running = runSync({
      ...base,
      mode: "db_sync",
      sink,
      checkpointKey: syncKey,
      signal: controller.signal,
      onProgress: (stats) => {
        listed = stats.listed;
      },
    }).catch(() => {});
    expect(await until(async () => (await h.state.getCheckpoint(syncKey)) !== undefined)).toBe(true);
    controller.abort();
    await running;
    // only the contacts changed since the day db_init started, not all 150 of the campaign
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(75);
    await target.close();
  });
});

describe("an unreachable target database", () => {
  /** A db_init with 4 requests at once; resolves to its error, if any. */
  function dbInit(source: DialfireSource, sink: Sink, state: StateStore): Promise<unknown> {
    return runSync({
      mode: "db_init",
      source,
      sink,
      state,
      checkpointKey: KEY,
      eventFilters: {},
      workers: 4,
      intervalMs: 1000,
      log: silent,
      signal: new AbortController().signal,
    }).catch((error: unknown) => error);
  }

  async function initWith(failures: number, transient: boolean) {
    const dir = tempDir("flaky-target");
    const sim = startSimulator({ campaignId: CAMPAIGN, token: "t", contacts: 80, seed: 58 });
    const target = new SqlTarget(await openDialect(`file:${dir}/target.db`), "");
    const state = await openStateStore(`file:${dir}/state.db`);
    const sink = createSqlSink(target, { filter: {} });
    let failed = 0;
    const flaky: typeof sink = {
      ...sink,
      writeContacts: async (contacts) => {
        if (failed < failures) {
          failed++;
          throw new TargetError("connection refused", { transient });
        }
        return sink.writeContacts(contacts);
      },
    };
    const result = await dbInit(createDialfireClient({ baseUrl: sim.url, campaign: CAMPAIGN, token: "t" }), flaky, state);
    await state.close();
    await target.close();
    const diff = describeDiff(await targetDifferences(`file:${dir}/target.db`, sim.campaign));
    await sim.stop();
    return { result, failed, diff };
  }

  test("is waited for while it is unreachable, and nothing is lost", async () => {
    const { result, failed, diff } = await initWith(3, true);
    expect(result).not.toBeInstanceOf(Error);
    expect(failed).toBe(3);
    expect(diff).toBe("");
  });

  test("a write that fails for good also stops the contacts being fetched for the next write", async () => {
    const sim = startSimulator({ campaignId: CAMPAIGN, token: "t", contacts: 2000, seed: 59, faults: { slowRate: 1, slowMs: 100 } });
    const client = createDialfireClient({ baseUrl: sim.url, campaign: CAMPAIGN, token: "t" });
    const fetches = { started: 0, running: 0 };
    const source: DialfireSource = {
      ...client,
      fetchContacts: async (ids, signal) => {
        fetches.started++;
        fetches.running++;
        try {
          return await client.fetchContacts(ids, signal);
        } finally {
          fetches.running--;
        }
      },
    };
    const state = await openStateStore(":memory:");
    const target = new SqlTarget(await openDialect(":memory:"), "");
    const sink = createSqlSink(target, { filter: {} });
    const result = await dbInit(
      source,
      { ...sink, writeContacts: async () => Promise.reject(new TargetError("disk full", { transient: false })) },
      state,
    );
    expect(result).toBeInstanceOf(TargetError);
    const startedByThen = fetches.started;
    await Bun.sleep(1000);
    expect(fetches.started).toBe(startedByThen);
    expect(fetches.running).toBe(0);
    await state.close();
    await target.close();
    await sim.stop();
  });

  test("an error that is not about reaching it (bad SQL, bad data) stops the sync at once", async () => {
    const { result, failed } = await initWith(1, false);
    expect(result).toBeInstanceOf(TargetError);
    expect(failed).toBe(1);
  });
});
