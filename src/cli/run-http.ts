// The HTTP face of `dbsync run`, on the one port of `http:` (or `--http`): /healthz (the process is
// up), /readyz (its lease rounds reach the state store, and its campaigns' API and targets answer),
// /metrics (campaign/metrics.ts). A Hono app of sub-apps like the server's, so that a page beside
// them is one more `app.route("/status", …)`. No token is needed for any of them, so none names a
// database, a receiver or an error's detail.
import type { ConsolaInstance } from "consola";
import { Hono } from "hono";
import type { LeaseKeeper } from "../campaign/lease-keeper.ts";
import type { CampaignFigures } from "../campaign/metrics-campaign.ts";
import type { CampaignObserver } from "../campaign/metrics-observer.ts";
import { type CampaignRef, RunMetrics } from "../campaign/metrics.ts";
import { fleetOverview } from "../campaign/fleet-status.ts";
import type { StateStore } from "../core/state/state.ts";
import { fleetApi } from "../server/fleet-api.ts";
import { UsageError } from "./argv.ts";
import { listenError } from "./listen-errors.ts";
import { redact } from "./logger.ts";
import { addressText, type ListenAddress } from "./run-http-address.ts";
import type { RunCampaign } from "./run-config.ts";
import { fleetCampaigns } from "./status-command.ts";

export { HTTP_ADDRESS_SCHEMA, HTTP_FLAG } from "./run-http-address.ts";

/**
 * "Recently" for a campaign's API and target: a minute of attempts without a single answer is no
 * hiccup (a request times out after 30 s, retries wait up to 30 s), and is well before the pipeline
 * gives up on its target (after ten minutes).
 */
export const ANSWER_WITHIN_MS = 60_000;

export interface ReadinessSources {
  metrics: RunMetrics;
  /** How long ago a lease round last reached the state store, and how long is too long. */
  stateContact(): { agoMs: number; limitMs: number };
  now?: () => number;
}

export function runHttpApp(sources: ReadinessSources, api?: Hono): Hono {
  const app = new Hono();
  app.route("/", healthRoutes(sources));
  app.route("/", metricsRoutes(sources.metrics));
  // Behind the admin token: the fleet's overview and the operator's actions.
  if (api) app.route("/api", api);
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  return app;
}

function healthRoutes(sources: ReadinessSources): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", (c) => {
    const problems = readinessProblems(sources);
    return problems.length === 0 ? c.json({ ok: true }) : c.json({ ok: false, error: problems.join("; ") }, 503);
  });
  return app;
}

function metricsRoutes(metrics: RunMetrics): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => c.text(await metrics.render(), 200, { "content-type": metrics.contentType }));
  return app;
}

/** Why this replica is not ready, one phrase each; none when it is. */
export function readinessProblems({ metrics, stateContact, now = Date.now }: ReadinessSources): string[] {
  const problems: string[] = [];
  const { agoMs, limitMs } = stateContact();
  if (agoMs > limitMs) problems.push(`the lease rounds have not reached the state store for ${Math.round(agoMs / 1000)} s`);
  for (const figures of metrics.held()) {
    for (const problem of figures.problems(ANSWER_WITHIN_MS, now())) problems.push(`${nameOf(figures)}: ${problem}`);
  }
  return problems;
}

function nameOf({ labels }: CampaignFigures): string {
  return `${labels.campaign} ${labels.mode}${labels.target ? ` (target ${labels.target})` : ""}`;
}

export interface RunHttpFace {
  /** The observer of a campaign starting here; none when nothing is served. */
  observer(campaign: RunCampaign): CampaignObserver | undefined;
  listen(): void;
  stop(): void;
}

/** The face of a `dbsync run` process; without an address it serves nothing and counts nothing. */
export function runHttpFace(
  address: ListenAddress | undefined,
  run: { state: StateStore; keeper: LeaseKeeper; campaigns: () => readonly RunCampaign[]; out: ConsolaInstance },
): RunHttpFace {
  if (!address) return { observer: () => undefined, listen: () => {}, stop: () => {} };
  const { state, keeper } = run;
  const metrics = new RunMetrics({
    leases: () => [...keeper.held.keys()].map((key) => [key, keeper.mayWrite(key)]),
    campaignOf: (key) => {
      const campaign = run.campaigns().find((candidate) => candidate.key === key);
      return campaign && refOf(campaign);
    },
    outbox: async (campaign) => ({
      pending: await state.outbox.pendingCount({ scope: { campaign } }),
      deadLetters: await state.outbox.failedCount({ campaign }),
    }),
  });
  const api = fleetApi({
    overview: () => fleetOverview(state, fleetCampaigns(run.campaigns()), keeper.ttlMs),
    outbox: state.outbox,
    pauses: state.status,
    campaigns: () => run.campaigns().map(({ key, config }) => ({ key, campaign: config.campaign, mode: config.mode })),
    adminToken: process.env.DBSYNC_ADMIN_TOKEN,
    onError: (error) => run.out.warn(redact(`the operator's API: ${error instanceof Error ? error.message : String(error)}`)),
  });
  // Two rounds missed: the third of the lease left is for the next one to get through.
  const app = runHttpApp({ metrics, stateContact: () => ({ agoMs: keeper.sinceContactMs, limitMs: keeper.ttlMs / 2 }) }, api);
  let server: ReturnType<typeof Bun.serve> | undefined;
  return {
    observer: (campaign) => metrics.campaign(refOf(campaign)),
    listen() {
      try {
        server = Bun.serve({ hostname: address.host, port: address.port, fetch: app.fetch });
      } catch (error) {
        const failure = listenError(address.host, address.port, error);
        throw failure instanceof UsageError ? new UsageError(failure.message.replace("--host", "the host of http:")) : failure;
      }
      run.out.info(`dbsync run: /healthz, /readyz and /metrics on http://${addressText({ ...address, port: server.port ?? 0 })}`);
    },
    stop: () => void server?.stop(true),
  };
}

function refOf({ key, config }: RunCampaign): CampaignRef {
  return { key, campaign: config.campaign, mode: config.mode };
}
