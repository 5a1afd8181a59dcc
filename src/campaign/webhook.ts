// Webhook mode: the pipeline records each transaction in the outbox (core/webhook/sink.ts) while a
// deliverer sends them; both run until the campaign is stopped.
import type { ConsolaInstance } from "consola";
import pkg from "../../package.json" with { type: "json" };
import { CircuitBreaker } from "../core/webhook/circuit-breaker.ts";
import type { DeliverySelection, WebhookOutbox } from "../core/webhook/outbox.ts";
import { RateLimiter } from "../core/webhook/rate-limit.ts";
import type { DialfireSource } from "../core/sync/source.ts";
import type { StateStore } from "../core/state/state.ts";
import { runSync, type SyncOptions, type SyncStats } from "../core/sync/pipeline.ts";
import { Deliverer, type DelivererOptions } from "../core/webhook/delivery.ts";
import { createWebhookSink } from "../core/webhook/sink.ts";
import { breakerReports, fileOnly, pipelineLog } from "./log-digests.ts";
import { type CampaignSettings, contactFilter, pipelineSettings, type WebhookDeliveryConfig } from "./settings.ts";

/** The longest wait between two attempts of one delivery. */
const MAX_RETRY_WAIT_MS = 10 * 60_000;

export interface WebhookModeRun {
  settings: CampaignSettings;
  state: StateStore;
  source: DialfireSource;
  log: ConsolaInstance;
  onProgress: (stats: SyncStats) => void;
  signal: AbortSignal;
  listingTurn?: SyncOptions["listingTurn"];
  onDelivery?: DelivererOptions["onOutcome"];
}

export async function runWebhookMode(run: WebhookModeRun): Promise<void> {
  const { settings, state, source, log, onProgress, signal, listingTurn } = run;
  const url = settings.url as string; // required in webhook mode by every entry point
  const scope = { campaign: settings.campaign };
  const checkpointKey = { campaign: settings.campaign, mode: "webhook", target: "" };
  const originKey = { ...checkpointKey, mode: "webhook-origin" };

  // Without --s only transactions fired after the first start are sent; that start is kept, so a
  // restart neither sends the campaign's history nor skips what happened while it was down. It is
  // kept only once the API accepted the token (the caller asks for the fields before it opens the
  // state store): a failed first try does not fix it.
  const storedOrigin = await state.getCheckpoint(originKey);
  const stored = storedOrigin ? new Date(storedOrigin.value) : undefined;
  const origin = settings.start ?? stored ?? new Date();
  if (!stored || origin < stored) {
    // History from before the former start was never recorded: the listing must fetch every
    // contact again instead of skipping those it has seen, and a restart that interrupts it must
    // list from the new start again, not go on from the old checkpoint.
    if (stored) {
      await state.outbox.forgetContacts(scope);
      if (await state.getCheckpoint(checkpointKey)) await state.setCheckpoint(checkpointKey, origin.toISOString());
    }
    await state.setCheckpoint(originKey, origin.toISOString());
  }
  const interruptedEarly = !settings.start && stored !== undefined && !(await state.getCheckpoint(checkpointKey));

  const inner = new AbortController();
  const stop = () => inner.abort(signal.reason);
  signal.addEventListener("abort", stop, { once: true });
  const deliverer = createDeliverer(settings.webhook, state.outbox, { scope }, log, {
    concurrency: settings.workers,
    onOutcome: run.onDelivery,
  });
  const sink = createWebhookSink({
    outbox: state.outbox,
    scope,
    url,
    filter: contactFilter(settings),
    origin,
    signed: settings.webhook.signingKey !== undefined,
    onRecorded: () => deliverer.wake(),
  });

  await state.outbox.repairLines(Date.now());
  const moved = await state.outbox.retarget(scope, url);
  if (moved > 0) log.info(`${moved} pending deliveries recorded for another receiver URL go to ${displayUrl(url)} now`);
  if (!settings.webhook.signingKey && (await state.outbox.pendingCount({ scope, signed: true })) > 0) {
    log.warn(
      "deliveries recorded with a signature are pending, and no secret is given: " +
        "they are held back until they reach the dead-letter list (replay them with the secret)",
    );
  }
  const pending = await state.outbox.pendingCount({ scope });
  log.info(
    `webhook: transactions of campaign ${settings.campaign} fired since ${origin.toISOString()} to ${displayUrl(url)}` +
      `${settings.webhook.signingKey ? " (signed)" : ""}${pending > 0 ? `; ${pending} deliveries pending from before` : ""}`,
  );
  const delivering = deliverer.run(inner.signal).finally(() => inner.abort());
  const syncing = runSync({
    mode: "webhook",
    source,
    sink,
    state,
    checkpointKey,
    start: settings.start ?? (interruptedEarly ? origin : undefined),
    ...pipelineSettings(settings),
    log: pipelineLog(log),
    onProgress,
    listingTurn,
    signal: inner.signal,
  }).finally(() => inner.abort());
  const [synced, delivered] = await Promise.allSettled([syncing, delivering]);
  signal.removeEventListener("abort", stop);
  log.info(
    `webhook: ${deliverer.stats.delivered} delivered, ${deliverer.stats.failedAttempts} failed attempts, ` +
      `${deliverer.stats.deadLettered} dead-lettered in this run`,
  );
  // The first real failure is the one to report; the other side merely stopped because of it.
  if (delivered.status === "rejected" && !signal.aborted) throw delivered.reason;
  if (synced.status === "rejected") throw synced.reason;
}

export function createDeliverer(
  delivery: WebhookDeliveryConfig,
  outbox: WebhookOutbox,
  selection: DeliverySelection,
  log: ConsolaInstance,
  options: { concurrency?: number; onOutcome?: DelivererOptions["onOutcome"] } = {},
): Deliverer {
  const breakerNews = breakerReports(log);
  const file = fileOnly(log);
  return new Deliverer({
    outbox,
    selection,
    signingKey: delivery.signingKey,
    attempts: delivery.attempts,
    backoff: { baseMs: delivery.retryWaitSeconds * 1000, maxMs: Math.max(MAX_RETRY_WAIT_MS, delivery.retryWaitSeconds * 1000) },
    timeoutMs: delivery.timeoutSeconds * 1000,
    concurrency: options.concurrency ?? 32,
    rate: delivery.rate,
    limiter: new RateLimiter(delivery.rate, delivery.burst),
    breaker: new CircuitBreaker({
      // The probe period follows the retry timing: 10 s with the default first wait of 1 s.
      openMs: Math.min(10_000, Math.max(500, delivery.retryWaitSeconds * 10_000)),
      onOpen: (failures, openMs) => breakerNews.onOpen(failures, openMs),
      onClose: () => breakerNews.onClose(),
    }),
    userAgent: `dbsync/${pkg.version}`,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), record: (m) => file.warn(m) },
    onStop: () => breakerNews.flush(),
    onOutcome: options.onOutcome,
  });
}

/** A URL for messages and logs: without password and query (either may carry a key). */
export function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const user = url.username ? `${url.username}${url.password ? ":***" : ""}@` : "";
    return `${url.protocol}//${user}${url.host}${url.pathname}${url.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}
