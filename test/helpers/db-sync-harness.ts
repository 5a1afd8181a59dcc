// A db_sync pipeline against the simulator over hours and days of simulated time: the simulator and
// the pipeline share a clock the test moves, so outages and restarts days apart take milliseconds.
import { createDialfireClient } from "../../src/core/dialfire/client.ts";
import { createSqlSink } from "../../src/core/sql/sink.ts";
import { SqlTarget } from "../../src/core/sql/target.ts";
import type { StateStore } from "../../src/core/state/state.ts";
import { openStateStore } from "../../src/state/open.ts";
import type { DialfireSource } from "../../src/core/sync/source.ts";
import { type Logger, runSync, type SyncOptions } from "../../src/core/sync/pipeline.ts";
import { openDialect } from "../../src/dialects/index.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/serve.ts";
import { describe as describeDiff, targetDifferences, until } from "./compare.ts";
import { tempDir } from "./run.ts";

export const HOUR = 3_600_000;
export const CAMPAIGN = "PIPECAMPAIGN0001";
export const KEY = { campaign: CAMPAIGN, mode: "db_sync", target: "test" };
export const silent = { debug() {}, info() {}, warn() {} };

/** Real time plus the jumps a test makes: windows keep moving on as they do in production. */
export class Clock {
  private offset = Date.parse("2026-03-02T10:00:00.000Z") - Date.now();
  now = (): Date => new Date(Date.now() + this.offset);
  ms(): number {
    return this.now().getTime();
  }
  jump(ms: number): void {
    this.offset += ms;
  }
}

export interface Harness {
  clock: Clock;
  sim: RunningSimulator;
  /** While true, every transaction-event request fails (an API outage of that endpoint), with `error` if given. */
  outage: { events: boolean; error?: Error };
  state: StateStore;
  start(options?: { maxFailedCycles?: number; lookbackMs?: number; log?: Logger; listingTurn?: SyncOptions["listingTurn"] }): {
    stop(): Promise<void>;
    done: Promise<unknown>;
  };
  /** Contact ids asked for by fetchContacts so far. */
  fetched: string[];
  differences(): Promise<string>;
  checkpoint(): Promise<number | undefined>;
  close(): Promise<void>;
}

const open: Harness[] = [];

/** For afterEach: stops every harness a test started. */
export async function closeHarnesses(): Promise<void> {
  for (const harness of open.splice(0)) await harness.close();
}

export async function harness(seed: number): Promise<Harness> {
  const dir = tempDir("pipeline");
  const clock = new Clock();
  const now = clock.now;
  const sim = startSimulator({ campaignId: CAMPAIGN, token: "t", contacts: 150, seed, now });
  const client = createDialfireClient({ baseUrl: sim.url, campaign: CAMPAIGN, token: "t", retry: { attempts: 2, baseMs: 1, maxMs: 2 } });
  const outage: Harness["outage"] = { events: false };
  const fetched: string[] = [];
  const source: DialfireSource = {
    ...client,
    fetchContacts: (ids, signal) => {
      fetched.push(...ids);
      return client.fetchContacts(ids, signal);
    },
    transactionEvents: (window, filters, signal) => {
      if (outage.events) throw outage.error ?? new Error("simulated outage");
      return client.transactionEvents(window, filters, signal);
    },
  };
  const target = new SqlTarget(await openDialect(`file:${dir}/target.db`), "");
  const state = await openStateStore(`file:${dir}/state.db`);
  const runs: { stop(): Promise<void> }[] = [];
  const h: Harness = {
    clock,
    sim,
    outage,
    state,
    fetched,
    start(options = {}) {
      const controller = new AbortController();
      const done = runSync({
        mode: "db_sync",
        source,
        sink: createSqlSink(target, { filter: {}, now }),
        state,
        checkpointKey: KEY,
        eventFilters: {},
        workers: 4,
        intervalMs: 20,
        now,
        log: options.log ?? silent,
        signal: controller.signal,
        maxFailedCycles: options.maxFailedCycles ?? 10_000,
        lookbackMs: options.lookbackMs,
        listingTurn: options.listingTurn,
      }).catch((error) => error);
      const run = {
        stop: async () => {
          controller.abort();
          await done;
        },
        done,
      };
      runs.push(run);
      return run;
    },
    async differences() {
      return describeDiff(await targetDifferences(`file:${dir}/target.db`, sim.campaign));
    },
    async checkpoint() {
      const saved = await state.getCheckpoint(KEY);
      return saved ? Date.parse(saved.value) : undefined;
    },
    async close() {
      for (const run of runs) await run.stop();
      await target.close();
      await state.close();
      await sim.stop();
    },
  };
  open.push(h);
  return h;
}

/** The checkpoint has passed this instant: everything before it is written. */
export async function passed(h: Harness, instant: number): Promise<boolean> {
  return until(async () => ((await h.checkpoint()) ?? 0) > instant);
}
