// One campaign of a process that runs many: assembled, run, and after any failure (a refused token, a
// target that is down) assembled and run again after a growing, jittered wait, until it is stopped.
// A db_init or db_update that finished stays finished. Like the assembly, it touches nothing of the
// process: the host hands in the loggers and hears of every start, failure and end.
import type { ConsolaInstance } from "consola";
import { backoffMs, type RetryPolicy, sleep } from "../core/common/retry.ts";
import { isLeaseLost } from "../core/state/leases.ts";
import type { StateStore } from "../core/state/state.ts";
import type { CampaignState } from "../core/state/status.ts";
import type { SyncOptions, SyncStats } from "../core/sync/pipeline.ts";
import { assembleCampaign } from "./assemble.ts";
import type { CampaignObserver } from "./metrics-observer.ts";
import type { CampaignSettings } from "./settings.ts";

export interface SupervisedHost {
  state: StateStore;
  /** The campaign's own log. */
  log: ConsolaInstance;
  /** One line for the process's console about this campaign: started, failing, finished, stopped. */
  say: (line: string) => void;
  signal: AbortSignal;
  defaultTargetUrl?: () => string;
  /** The waits between attempts after failures: the first and the longest, in ms. */
  backoff: { firstMs: number; maxMs: number };
  /** Hears of every change of state, with the failure in words while it backs off. */
  report?: (state: CampaignState, lastError?: string) => void;
  onProgress?: (stats: SyncStats) => void;
  beforeWrite?: () => void;
  listingTurn?: SyncOptions["listingTurn"];
  observer?: CampaignObserver;
}

/** How a supervised campaign ended. */
export type SupervisedEnd = "finished" | "stopped" | "lease-lost";

/** Resolves when the campaign finished (db_init, db_update), was stopped or lost its lease; never rejects. */
export async function superviseCampaign(settings: CampaignSettings, host: SupervisedHost): Promise<SupervisedEnd> {
  const { log, say, signal } = host;
  const policy: RetryPolicy = { attempts: Number.POSITIVE_INFINITY, baseMs: host.backoff.firstMs, maxMs: host.backoff.maxMs };
  const report = (state: CampaignState, lastError?: string) => {
    host.observer?.state(state);
    host.report?.(state, lastError);
  };
  let failures = 0;
  say("started");
  while (!signal.aborted) {
    const startedAt = Date.now();
    const { state, defaultTargetUrl, onProgress, beforeWrite, listingTurn, observer } = host;
    const campaign = assembleCampaign(settings, { state, log, signal, defaultTargetUrl, onProgress, beforeWrite, listingTurn, observer });
    report("running");
    try {
      await campaign.run();
      if (signal.aborted) break;
      // db_sync and webhook run until stopped; a finite mode that got here is done for good.
      say("finished");
      report("finished");
      log.info(`${settings.mode} finished; it stays finished until the config file changes it or the process restarts`);
      return "finished";
    } catch (error) {
      if (signal.aborted) break;
      if (isLeaseLost(error)) {
        // Another replica runs it now; trying again here would only be refused again.
        const reason = error instanceof Error ? error.message : String(error);
        say(`stopped: ${reason}`);
        log.warn(reason);
        return "lease-lost";
      }
      // A campaign that ran well for longer than the longest wait starts its waits from the first again.
      if (Date.now() - startedAt > host.backoff.maxMs) failures = 0;
      const waitMs = backoffMs(policy, failures++);
      const line = `failed (${failures} in a row): ${error instanceof Error ? error.message : String(error)}; retrying in ${(waitMs / 1000).toFixed(1)} s`;
      say(line);
      log.error(line);
      report("backing_off", error instanceof Error ? error.message : String(error));
      await sleep(waitMs, signal).catch(() => {});
    } finally {
      await campaign.close();
    }
  }
  say("stopped");
  report("stopped");
  log.info(`${settings.mode} stopped`);
  return "stopped";
}
