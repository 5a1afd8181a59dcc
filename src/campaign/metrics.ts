// The metrics of `dbsync run` in the Prometheus text format, through prom-client: the process's own
// (CPU, memory, event loop, as collectDefaultMetrics gives them) and, for each campaign whose lease
// this replica holds, its figures (metrics-campaign.ts) under the labels campaign, mode and target.
// A campaign held by another replica is that replica's to export: nothing of it appears here.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type CampaignFamilies, CampaignFigures, type CampaignLabels } from "./metrics-campaign.ts";

/** A campaign of the config file: its key (the lease's name), id and mode. */
export interface CampaignRef {
  key: string;
  campaign: string;
  mode: string;
}

export interface MetricsSources {
  /** The leases this replica holds, by campaign key, each with whether it was renewed in time. */
  leases(): Iterable<[key: string, renewed: boolean]>;
  /** The campaign a key stands for in the config file as it is now. */
  campaignOf(key: string): CampaignRef | undefined;
  /** A webhook campaign's pending deliveries and dead letters, from the state store. */
  outbox(campaign: string): Promise<{ pending: number; deadLetters: number }>;
}

const LABELS = ["campaign", "mode", "target"];
/** A scrape does not wait longer for the state store's outbox counts; the last ones read stay. */
const OUTBOX_READ_MS = 2000;
/** From 10 ms to about 41 s: a page of contacts takes seconds, a timeout 30 s. */
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40];

export class RunMetrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #families: CampaignFamilies;
  readonly #figures = new Map<string, CampaignFigures>();
  /** The figures of the campaigns held at the scrape under way. */
  #scraped: CampaignFigures[] = [];

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const counter = (name: string, help: string, extra: string[] = []) =>
      new Counter({ name, help, labelNames: [...LABELS, ...extra], registers });
    this.#families = {
      apiRequests: counter("dbsync_api_requests_total", "Dialfire API requests by endpoint and HTTP status (none: no answer).", [
        "endpoint",
        "status",
      ]),
      apiDuration: new Histogram({
        name: "dbsync_api_request_duration_seconds",
        help: "Dialfire API request time, from sending to the answer read whole, by endpoint.",
        labelNames: [...LABELS, "endpoint"],
        buckets: DURATION_BUCKETS,
        registers,
      }),
      apiRetries: counter("dbsync_api_retries_total", "Dialfire API requests tried again after a failed attempt."),
      apiThrottled: counter("dbsync_api_throttled_total", "Dialfire API answers 429 (too many requests)."),
      rows: counter("dbsync_rows_written_total", "Rows written to the target database per table (recorded transactions in webhook mode).", [
        "table",
      ]),
      deliveries: counter(
        "dbsync_webhook_deliveries_total",
        "Webhook delivery attempts by outcome: delivered, failed (tried again later), dead_lettered.",
        ["outcome"],
      ),
    };
    const gauge = (name: string, help: string, value: (figures: CampaignFigures) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect() {
          this.reset();
          for (const figures of metrics.#scraped) {
            const measured = value(figures);
            if (measured !== undefined) this.set({ ...figures.labels }, measured);
          }
        },
      });
    const metrics = this;
    gauge(
      "dbsync_checkpoint_timestamp_seconds",
      "The campaign's checkpoint: everything changed before it is in the target.",
      (f) => f.checkpointSeconds,
    );
    gauge("dbsync_lag_seconds", "How far the campaign is behind; see the README for what it means during a listing.", (f) =>
      f.lagSeconds(),
    );
    gauge("dbsync_outbox_pending", "Webhook deliveries waiting in the outbox.", (f) => f.outbox?.pending);
    gauge("dbsync_dead_letters", "Webhook deliveries in the dead-letter list.", (f) => f.outbox?.deadLetters);
    new Gauge({
      name: "dbsync_lease_held",
      help: "1 while this replica holds the campaign's lease and renewed it in time, 0 while a renewal is late.",
      labelNames: LABELS,
      registers,
      collect() {
        this.reset();
        for (const [key, renewed] of sources.leases()) {
          const campaign = sources.campaignOf(key);
          if (campaign) this.set({ ...labelsOf(campaign) }, renewed ? 1 : 0);
        }
      },
    });
  }

  /**
   * A campaign starting on this replica: its figures, handed to it as its observer. Started again
   * while the lease stayed here (after a failure, a change of the file), it counts on.
   */
  campaign(ref: CampaignRef): CampaignFigures {
    const held = this.#figures.get(ref.key);
    if (held) return held;
    const figures = new CampaignFigures(labelsOf(ref), this.#families);
    this.#figures.set(ref.key, figures);
    return figures;
  }

  /** The figures of the campaigns held now; those no longer held are forgotten. */
  held(): CampaignFigures[] {
    const held = new Map(this.#sources.leases());
    for (const [key, figures] of this.#figures) {
      if (held.has(key)) continue;
      figures.forget();
      this.#figures.delete(key);
    }
    return [...this.#figures.values()];
  }

  /** The exposition text, with the outbox counts read fresh where the state store answers in time. */
  async render(): Promise<string> {
    this.#scraped = this.held();
    await Promise.all(this.#scraped.filter((figures) => figures.webhook).map((figures) => this.#readOutbox(figures)));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async #readOutbox(figures: CampaignFigures): Promise<void> {
    const timer = new AbortController();
    const late = new Promise<undefined>((resolve) => {
      const id = setTimeout(() => resolve(undefined), OUTBOX_READ_MS);
      timer.signal.addEventListener("abort", () => clearTimeout(id));
    });
    try {
      figures.outbox = (await Promise.race([this.#sources.outbox(figures.labels.campaign), late])) ?? figures.outbox;
    } catch {
      // The state store did not answer: the counts read last stay; /readyz says what is wrong.
    } finally {
      timer.abort();
    }
  }
}

/** Webhook mode has no target database (one receiver per campaign): its target label is empty. */
function labelsOf({ key, campaign, mode }: CampaignRef): CampaignLabels {
  const target = key.split("|").slice(2).join("|");
  return { campaign, mode, target: mode === "webhook" || !target ? "" : bytesToHex(sha256(utf8ToBytes(target))).slice(0, 8) };
}
