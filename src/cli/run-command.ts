// `dbsync run --config FILE`: the campaigns of the file in one process, over one state store, each
// with its own log file, until SIGTERM/SIGINT. Several processes with the same state store share the
// campaigns through leases (campaign/lease-keeper.ts); alone, a process holds them all. A failing
// campaign backs off and is retried without disturbing the others (campaign/supervise.ts). SIGHUP,
// or a change of the file seen at the next round, reads it again and starts, stops or restarts only
// the campaigns that were added, removed or changed.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { defineCommand } from "citty";
import * as v from "valibot";
import { DaemonAlerts } from "../campaign/alerts-daemon.ts";
import { LeaseKeeper, type LeaseRound } from "../campaign/lease-keeper.ts";
import { StatusReporter } from "../campaign/status-reporter.ts";
import { settingsFingerprint } from "../campaign/settings.ts";
import { superviseCampaign } from "../campaign/supervise.ts";
import { displayUrl } from "../campaign/webhook.ts";
import { Serial } from "../core/common/serial.ts";
import { Turns } from "../core/common/turns.ts";
import { sleep } from "../core/common/retry.ts";
import { isLeaseLost, type Lease, LeaseLostError } from "../core/state/leases.ts";
import type { CampaignStatusRecord } from "../core/state/status.ts";
import { openStateStore } from "../state/open.ts";
import { withEnvironment } from "./argv.ts";
import { parseFlags, requiredText, valueFlag } from "./flag-schemas.ts";
import { addSecret, createLogger, redact } from "./logger.ts";
import { logDir } from "./paths.ts";
import { aboutCampaign, campaignLog, labelOf } from "./run-campaign-log.ts";
import { configFileVersion, inFileTerms, loadRunConfig, type RunCampaign, type RunConfig } from "./run-config.ts";
import { HTTP_ADDRESS_SCHEMA, HTTP_FLAG, runHttpFace } from "./run-http.ts";
import { onShutdown } from "./shutdown.ts";
import { addCampaignSecrets, defaultTargetUrl, passwordOf } from "./sync-command.ts";

/**
 * Campaigns listing at the same time (a db_init, a catch-up, a re-listing): a listing holds many
 * contacts in memory, so twenty db_init at once peaked at 6.8 times the memory of one; one at a time,
 * with a collection after each, at 1.2 times, and all twenty finished in about the same time. Only
 * the big listings wait for a turn (a db_init, a db_update, a db_sync's first catch-up), before which
 * the campaign has nothing to poll; the daily re-listings of running db_sync campaigns do not.
 */
const LISTINGS_AT_ONCE = 1;

const RUN_FLAGS = {
  config: valueFlag("The config file: YAML (.yaml, .yml), TOML (.toml) or JSON (.json); see the README", "file"),
  http: HTTP_FLAG,
} as const;

export const runManyCommand = defineCommand({
  meta: {
    name: "run",
    description:
      "Run the campaigns of a config file until stopped, sharing them with other replicas of the same state; SIGHUP reads the file again",
  },
  args: RUN_FLAGS,
  async run({ args }) {
    const flags = parseFlags(
      v.object({ config: requiredText("the config file (--config) is required"), http: v.optional(HTTP_ADDRESS_SCHEMA) }),
      // Present-but-undefined: a missing --config gets its own message, not valibot's generic one.
      { config: undefined, ...withEnvironment(args, RUN_FLAGS, process.env) },
    );
    // A file with a mistake stops here, before anything is opened: exit 2 with its one line.
    const config = await loadRunConfig(flags.config);
    process.exitCode = await runCampaigns(flags.config, { ...config, http: flags.http ?? config.http });
  },
});

interface Running {
  campaign: RunCampaign;
  lease: Lease;
  stop: AbortController;
  done: Promise<void>;
  reporter: StatusReporter;
  /** Told to stop; it stays here until it has, so that it is not started twice meanwhile. */
  stopping: boolean;
}

async function runCampaigns(file: string, first: RunConfig): Promise<number> {
  // The console: the campaigns' starts, stops and failures, one line each; their details go to their files.
  const out = createLogger({ verbose: false, level: 4, format: first.logFormat, context: { mode: "run" } });
  const signal = onShutdown();
  let current = first;
  addSecrets(current);
  // A log folder that cannot be written stops the process here, not one campaign at a time later.
  logDir();
  const warn = (what: string) => (error: unknown) => out.warn(redact(`${what}: ${error instanceof Error ? error.message : String(error)}`));
  const state = await openStateStore(current.stateUrl);
  const replica = { id: `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`, host: hostname(), pid: process.pid };
  const keeper = new LeaseKeeper(state.leases, replica, current.leaseSeconds * 1000, undefined, once(warn("cannot take a lease")));
  const running = new Map<string, Running>();
  const listings = new Turns(LISTINGS_AT_ONCE);
  const alerts = new DaemonAlerts({
    state,
    replica: replica.id,
    settings: () => current.alerts,
    mask: redact,
    warn: (line) => out.warn(redact(line)),
  });
  const face = runHttpFace(current.http, { state, keeper, campaigns: () => current.campaigns, out });

  function start(campaign: RunCampaign, lease: Lease): void {
    saidPaused.delete(campaign.key);
    const stop = new AbortController();
    const stopped = AbortSignal.any([signal, stop.signal]);
    const label = labelOf(campaign);
    const { config } = campaign;
    // Every checkpoint, outbox and status write checks that this replica still holds the lease.
    const fenced = state.fenced({ name: lease.name, token: lease.token });
    const reporter = new StatusReporter(
      fenced.status,
      {
        name: campaign.key,
        campaign: config.campaign,
        mode: config.mode,
        owner: replica.id,
        settings: settingsFingerprint(campaign.key, campaign.config),
      },
      (error) => {
        // Its new owner reports from now on.
        if (!isLeaseLost(error)) warn(`${label}: cannot record its status in the state store`)(error);
      },
    );
    const done = superviseCampaign(config, {
      state: fenced,
      log: campaignLog(campaign, first),
      // The core's messages name flags (`--ct`); this operator wrote the file's keys (`token`).
      say: (line) => out.info(`${label}: ${inFileTerms(line)}`, aboutCampaign(campaign)),
      signal: stopped,
      defaultTargetUrl: () => defaultTargetUrl(config.campaign),
      backoff: { firstMs: current.failureWait.firstSeconds * 1000, maxMs: current.failureWait.maxSeconds * 1000 },
      report: (now, lastError) => {
        reporter.report(now, lastError);
        alerts.report(campaign.key, now, lastError);
      },
      onProgress: reporter.progress,
      listingTurn: (listing) => listings.run(() => listing().finally(collectGarbage), stopped),
      observer: face.observer(campaign),
      beforeWrite: () => {
        if (!keeper.mayWrite(campaign.key)) {
          throw new LeaseLostError(`the lease of ${campaign.key} may have run out (no renewal in time); its rows are not written here`);
        }
      },
    });
    const run: Running = { campaign, lease, stop, done: done.then(() => {}), reporter, stopping: false };
    running.set(campaign.key, run);
    // Stopped by a lost lease while the keeper still holds it (a stall ended its certainty): the next
    // round starts it again if the lease is still this replica's.
    void done.then((end) => {
      if (end === "lease-lost" && running.get(campaign.key) === run) running.delete(campaign.key);
    });
  }

  /**
   * A db_init or db_update that some replica finished with the same settings: taken over (a replica
   * left, or the campaigns were spread again), it is not run again.
   */
  async function finishedEarlier(campaign: RunCampaign): Promise<CampaignStatusRecord | undefined> {
    if (campaign.config.mode !== "db_init" && campaign.config.mode !== "db_update") return undefined;
    const record = (await state.status.list()).find((status) => status.name === campaign.key);
    return record?.state === "finished" && record.settings === settingsFingerprint(campaign.key, campaign.config) ? record : undefined;
  }

  function keepFinished(campaign: RunCampaign, lease: Lease, record: CampaignStatusRecord): void {
    const when = new Date(record.since).toISOString();
    out.info(
      `${labelOf(campaign)}: finished at ${when}${record.owner ? ` by replica ${record.owner}` : ""}; not run again until its keys change`,
      aboutCampaign(campaign),
    );
    const reporter = new StatusReporter(
      state.status,
      { ...record, owner: replica.id, settings: settingsFingerprint(campaign.key, campaign.config) },
      () => {},
    );
    running.set(campaign.key, { campaign, lease, stop: new AbortController(), done: Promise.resolve(), reporter, stopping: false });
  }

  /**
   * Tells these campaigns to stop, without waiting for them: a campaign stuck on a silent target
   * must not hold up the rounds that renew every other lease. Once one has stopped, what it counted
   * is written, `then` runs (handing its lease back, say) and a round follows at once (to start it
   * again where it is still held: a changed campaign).
   */
  function stopAll(names: readonly string[], why: string, then?: (name: string) => Promise<void>): void {
    for (const name of names) {
      const run = running.get(name);
      if (!run || run.stopping) continue;
      run.stopping = true;
      out.info(`${labelOf(run.campaign)}: ${why}`, aboutCampaign(run.campaign));
      run.stop.abort(new Error(why));
      void run.done.then(async () => {
        await run.reporter.flush();
        // In the queue, between rounds: a round in progress must not see it gone and start it anew
        // while its lease is about to be handed back. Once the process stops, leave() hands back.
        await turns.run(async () => {
          if (running.get(name) === run) running.delete(name);
          if (signal.aborted) return;
          if (!running.has(name)) await then?.(name);
          await balance();
        });
      });
    }
  }

  /** One round of the leases: stops what this replica no longer holds, starts what it newly holds. */
  async function balance(): Promise<void> {
    // Stopping: no more rounds, which would register this replica as live again and take leases.
    if (signal.aborted) return;
    let round: LeaseRound;
    try {
      round = await keeper.round(current.campaigns.map((campaign) => campaign.key));
    } catch (error) {
      warn("cannot renew the leases in the state store")(error);
      if (keeper.outOfTouch()) stopAll(keeper.dropAll(), "stopping: out of touch with the state store for a whole lease time");
      return;
    }
    stopAll(round.lost, "stopping: its lease went to another replica");
    // Paused by an operator: stopped here, its lease kept, so that no other replica starts it either.
    const paused = await state.status.paused().catch(() => undefined);
    if (paused) stopAll([...paused], "paused by the operator: stopping");
    // Handed back only once stopped: until then this replica keeps renewing it, so that nobody else
    // runs the campaign while it still writes.
    stopAll(round.surplus, "handing over to another replica", (name) => keeper.handBack([name]).catch(warn("cannot hand the lease back")));
    for (const name of round.surplus) if (!running.has(name)) await keeper.handBack([name]).catch(warn("cannot hand the lease back"));
    const byKey = new Map(current.campaigns.map((campaign) => [campaign.key, campaign]));
    for (const [name, lease] of round.held) {
      const campaign = byKey.get(name);
      if (!campaign || running.has(name) || signal.aborted || paused?.has(name) !== false) {
        if (campaign && paused?.has(name) && !running.has(name)) await reportPaused(campaign);
        continue;
      }
      // Unknown whether it finished (the store did not answer): decided next round, not run again blindly.
      const finished = await finishedEarlier(campaign).catch(() => "unknown" as const);
      if (finished === "unknown") continue;
      try {
        if (finished) keepFinished(campaign, lease, finished);
        else start(campaign, lease);
      } catch (error) {
        // One campaign that cannot start (its log file cannot be made, say) leaves the others be.
        warn(`${labelOf(campaign)}: cannot start`)(error);
      }
    }
    await Promise.all([...running.values()].map((run) => run.reporter.flush()));
  }

  /** A paused campaign this replica holds says so once, for `dbsync status` and the operator's API. */
  const saidPaused = new Set<string>();
  async function reportPaused(campaign: RunCampaign): Promise<void> {
    if (saidPaused.has(campaign.key)) return;
    saidPaused.add(campaign.key);
    const settings = settingsFingerprint(campaign.key, campaign.config);
    const record = { name: campaign.key, campaign: campaign.config.campaign, mode: campaign.config.mode, owner: replica.id, settings };
    new StatusReporter(state.status, record, warn(`${labelOf(campaign)}: cannot record its status`)).report("paused");
  }

  /** Stops what left or changed; the next round starts what is new or changed; the rest runs on untouched. */
  async function apply(next: RunConfig): Promise<string> {
    const wanted = new Map(next.campaigns.map((campaign) => [campaign.key, campaign]));
    const ending = [...running.values()].filter((run) => wanted.get(run.campaign.key)?.fingerprint !== run.campaign.fingerprint);
    const changed = ending.filter((run) => wanted.has(run.campaign.key));
    stopAll(
      changed.map((run) => run.campaign.key),
      "changed in the file: restarting",
    );
    // Handed back by the next rounds, once stopped: no longer in the file, they are surplus.
    stopAll(
      ending.filter((run) => !wanted.has(run.campaign.key)).map((run) => run.campaign.key),
      "removed from the file: stopping",
    );
    const before = new Set(current.campaigns.map((campaign) => campaign.key));
    current = next;
    await balance();
    const added = next.campaigns.filter((campaign) => !before.has(campaign.key)).length;
    const removed = [...before].filter((key) => !wanted.has(key)).length;
    return `${added} added, ${removed} removed, ${changed.length} restarted, ${next.campaigns.length - added - changed.length} unchanged`;
  }

  // What the file held when it was last read: a round that finds it changed reads it again.
  let seen = configFileVersion(file);

  async function reload(why: string): Promise<void> {
    if (signal.aborted) return;
    seen = configFileVersion(file);
    out.info(`${why}: reading ${file} again`);
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
    if (next.leaseSeconds !== current.leaseSeconds) {
      out.warn(`${file}: lease_seconds: a new lease time takes a restart of dbsync run; ${current.leaseSeconds} s stays until then`);
      next = { ...next, leaseSeconds: current.leaseSeconds };
    }
    addSecrets(next);
    out.info(`${file} applied: ${await apply(next)}`);
  }

  out.info(
    `dbsync run: ${current.campaigns.length} campaigns from ${file}, state in ${displayUrl(current.stateUrl)}, replica ${replica.id}`,
  );
  // Rounds and reloads one after the other: a SIGHUP during a slow stop waits its turn.
  const turns = new Serial();
  const onHangup = () => void turns.run(() => reload("SIGHUP"));
  process.on("SIGHUP", onHangup);
  try {
    face.listen();
    while (!signal.aborted) {
      await turns.run(async () => {
        if (configFileVersion(file) !== seen) await reload("the file changed");
        await balance();
        const held = current.campaigns.filter((campaign) => keeper.held.has(campaign.key));
        await alerts.check(held.map((campaign) => ({ key: campaign.key, label: labelOf(campaign), settings: campaign.config })));
      });
      await sleep(keeper.intervalMs, signal).catch(() => {});
    }
    await turns.idle();
    // The campaigns stop by the process's signal; a campaign stuck on a silent target is not waited
    // for longer than a lease: its lease then runs out by itself, while the others are handed over.
    const runs = [...running.values()];
    for (const run of runs) if (!run.stopping) out.info(`${labelOf(run.campaign)}: stopping`, aboutCampaign(run.campaign));
    const stopped = new Set<string>();
    const waited = new AbortController();
    const deadline = sleep(Math.max(keeper.ttlMs, 10_000), waited.signal).catch(() => {});
    await Promise.race([Promise.all(runs.map((run) => run.done.then(() => stopped.add(run.campaign.key)))), deadline]);
    // A pending timer would keep the process alive until it fired.
    waited.abort();
    await Promise.all(runs.filter((run) => stopped.has(run.campaign.key)).map((run) => run.reporter.flush()));
    const stuck = runs.map((run) => run.campaign.key).filter((name) => !stopped.has(name));
    // Handed over at once: the other replicas need not wait for the leases to run out.
    await keeper.leave(stuck).catch(warn("cannot hand the leases back (they run out by themselves)"));
    await alerts.close();
    if (stuck.length > 0) {
      out.warn(
        `dbsync run: ${stuck.length} campaigns did not stop in time (a target that does not answer?); their leases run out by themselves`,
      );
      // Their hanging connections would keep the process alive.
      await state.close().catch(() => {});
      process.exit(1);
    }
    out.info("dbsync run: every campaign stopped");
    return 0;
  } finally {
    process.off("SIGHUP", onHangup);
    face.stop();
    await state.close().catch(warn("closing the state store"));
  }
}

/**
 * After a listing, so that the next campaign's listing reuses the memory this one held instead of
 * growing the process further: listings are rare (at the start, then every few hours).
 */
function collectGarbage(): void {
  globalThis.Bun?.gc(true);
}

/** Says each different message once: a failure repeated every round is news only the first time. */
function once(say: (error: unknown) => void): (error: unknown) => void {
  const said = new Set<string>();
  return (error) => {
    const text = error instanceof Error ? error.message : String(error);
    if (said.has(text)) return;
    said.add(text);
    say(error);
  };
}

function addSecrets(config: RunConfig): void {
  addSecret(passwordOf(config.stateUrl));
  addSecret(config.alerts?.url);
  addSecret(process.env.DBSYNC_ADMIN_TOKEN);
  for (const campaign of config.campaigns) addCampaignSecrets(campaign.config);
}
