// `dbsync run --config FILE`: every campaign of the file in one process, over one state store, each
// with its own log file, until SIGTERM/SIGINT. A failing campaign backs off and is retried without
// disturbing the others (campaign/supervise.ts). SIGHUP reads the file again and starts, stops or
// restarts only the campaigns that were added, removed or changed.
import { defineCommand } from "citty";
import type { ConsolaInstance } from "consola";
import * as v from "valibot";
import { superviseCampaign } from "../campaign/supervise.ts";
import { displayUrl } from "../campaign/webhook.ts";
import { openStateStore } from "../state/open.ts";
import { withEnvironment } from "./argv.ts";
import { parseFlags, requiredText, valueFlag } from "./flag-schemas.ts";
import { addSecret, consolaLevel, createLogger, redact } from "./logger.ts";
import { createLogFile, logDir } from "./paths.ts";
import { inFileTerms, loadRunConfig, type RunCampaign, type RunConfig } from "./run-config.ts";
import { onShutdown } from "./shutdown.ts";
import { addCampaignSecrets, campaignFileStem, defaultTargetUrl, passwordOf } from "./sync-command.ts";

const RUN_FLAGS = {
  config: valueFlag("The config file: YAML (.yaml, .yml), TOML (.toml) or JSON (.json); see the README", "file"),
} as const;

export const runManyCommand = defineCommand({
  meta: {
    name: "run",
    description: "Run every campaign of a config file in one process until stopped; SIGHUP reads the file again",
  },
  args: RUN_FLAGS,
  async run({ args }) {
    const flags = parseFlags(
      v.object({ config: requiredText("the config file (--config) is required") }),
      // Present-but-undefined: a missing --config gets its own message, not valibot's generic one.
      { config: undefined, ...withEnvironment(args, RUN_FLAGS, process.env) },
    );
    // A file with a mistake stops here, before anything is opened: exit 2 with its one line.
    const config = await loadRunConfig(flags.config);
    process.exitCode = await runCampaigns(flags.config, config);
  },
});

interface Running {
  campaign: RunCampaign;
  stop: AbortController;
  done: Promise<void>;
}

async function runCampaigns(file: string, first: RunConfig): Promise<number> {
  // The console: the campaigns' starts, stops and failures, one line each; their details go to their files.
  const out = createLogger({ verbose: false, level: 4 });
  const signal = onShutdown();
  let current = first;
  addSecrets(current);
  // A log folder that cannot be written stops the process here, not one campaign at a time later.
  logDir();
  const state = await openStateStore(current.stateUrl);
  const running = new Map<string, Running>();

  function start(campaign: RunCampaign): void {
    const stop = new AbortController();
    const label = labelOf(campaign);
    const done = superviseCampaign(campaign.config, {
      state,
      log: campaignLog(campaign),
      // The core's messages name flags (`--ct`); this operator wrote the file's keys (`token`).
      say: (line) => out.info(`${label}: ${inFileTerms(line)}`),
      signal: AbortSignal.any([signal, stop.signal]),
      defaultTargetUrl: () => defaultTargetUrl(campaign.config.campaign),
      backoff: { firstMs: current.failureWait.firstSeconds * 1000, maxMs: current.failureWait.maxSeconds * 1000 },
    });
    running.set(campaign.key, { campaign, stop, done });
  }

  /** Stops what left or changed, then starts what is new or changed; the rest runs on untouched. */
  async function apply(next: RunConfig): Promise<string> {
    const wanted = new Map(next.campaigns.map((campaign) => [campaign.key, campaign]));
    const ending = [...running.values()].filter((run) => wanted.get(run.campaign.key)?.fingerprint !== run.campaign.fingerprint);
    for (const run of ending) {
      out.info(
        `${labelOf(run.campaign)}: ${wanted.has(run.campaign.key) ? "changed in the file: restarting" : "removed from the file: stopping"}`,
      );
      run.stop.abort(new Error("the config file changed"));
    }
    await Promise.all(ending.map((run) => run.done));
    for (const run of ending) running.delete(run.campaign.key);
    const added = next.campaigns.filter((campaign) => !running.has(campaign.key));
    for (const campaign of added) start(campaign);
    const restarted = ending.filter((run) => wanted.has(run.campaign.key)).length;
    return `${added.length - restarted} added, ${ending.length - restarted} removed, ${restarted} restarted, ${running.size - added.length} unchanged`;
  }

  async function reload(): Promise<void> {
    if (signal.aborted) return;
    out.info(`SIGHUP: reading ${file} again`);
    let next: RunConfig;
    try {
      next = await loadRunConfig(file);
    } catch (error) {
      out.error(`${error instanceof Error ? error.message : String(error)}; the running campaigns are kept as they are`);
      return;
    }
    if (next.stateUrl !== current.stateUrl) {
      out.error(`${file}: state: another state store needs a restart of dbsync run; the running campaigns are kept as they are`);
      return;
    }
    addSecrets(next);
    current = next;
    out.info(`${file} applied: ${await apply(next)}`);
  }

  out.info(`dbsync run: ${current.campaigns.length} campaigns from ${file}, state in ${displayUrl(current.stateUrl)}`);
  if (current.leaseSeconds !== undefined) out.info("lease_seconds is read but not used yet: leases come with replicas");
  // The first start and every reload one after the other: a SIGHUP during a slow stop waits its turn.
  let reloading: Promise<unknown> = apply(current);
  const onHangup = () => {
    reloading = reloading.then(reload);
  };
  process.on("SIGHUP", onHangup);
  try {
    await reloading;
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    await reloading;
    await Promise.all([...running.values()].map((run) => run.done));
    out.info("dbsync run: every campaign stopped");
    return 0;
  } finally {
    process.off("SIGHUP", onHangup);
    await state.close().catch((error: unknown) => out.warn(redact(`closing the state store: ${String(error)}`)));
  }
}

/** `ABC123 db_sync → postgres://dbsync@db/calls`: which campaign a console line is about. */
function labelOf({ config }: RunCampaign): string {
  return `${config.campaign} ${config.mode}${config.url ? ` → ${displayUrl(config.url)}` : ""}`;
}

/** Its own file, named as `sync` names it, so an operator reads or tails one campaign at a time. */
function campaignLog({ config }: RunCampaign): ConsolaInstance {
  const logFile = createLogFile(`${campaignFileStem(config.campaign)}_${config.mode}`);
  // Nothing to the console: the process says one line per start, failure and end for every campaign.
  return createLogger({ verbose: false, level: consolaLevel(config.logLevel), logFile, consoleLevel: -1 });
}

function addSecrets(config: RunConfig): void {
  addSecret(passwordOf(config.stateUrl));
  for (const campaign of config.campaigns) addCampaignSecrets(campaign.config);
}
