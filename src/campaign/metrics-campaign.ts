// One campaign's figures on this replica, as its observer hears them: counters go straight into the
// process's metric families under the campaign's labels; the checkpoint, the lag and whether its API
// and target answer are kept here for the scrape and for /readyz. Once the campaign is no longer this
// replica's, `forget` takes its series out and it counts nothing more.
import type { Counter, Histogram } from "prom-client";
import type { ApiAttempt } from "../core/dialfire/client.ts";
import type { CampaignState } from "../core/state/status.ts";
import type { SyncStats } from "../core/sync/pipeline.ts";
import type { DeliveryOutcome } from "../core/webhook/delivery.ts";
import type { CampaignObserver } from "./metrics-observer.ts";

export interface CampaignLabels {
  campaign: string;
  mode: string;
  /** A short hash of the target: its address is nobody's business on /metrics; it tells apart campaigns with two targets. */
  target: string;
}

type Labels = CampaignLabels & Record<string, string>;

/** The counter families a campaign counts into (see metrics.ts). */
export interface CampaignFamilies {
  apiRequests: Counter<string>;
  apiDuration: Histogram<string>;
  apiRetries: Counter<string>;
  apiThrottled: Counter<string>;
  rows: Counter<string>;
  deliveries: Counter<string>;
}

/** A dependency that keeps failing: since when (epoch ms), and the last reason. */
interface Failing {
  since: number;
  reason: string;
}

export class CampaignFigures implements CampaignObserver {
  readonly labels: CampaignLabels;
  readonly webhook: boolean;
  readonly #families: CampaignFamilies;
  readonly #now: () => number;
  /** Every label set counted into each family, to take them out again. */
  readonly #series = new Map<Counter<string> | Histogram<string>, Map<string, Labels>>();
  #forgotten = false;
  #checkpointMs: number | undefined;
  /** When the campaign last moved forward outside its checkpoint: started, a listing's page done. */
  #movedAt: number;
  #listingDone: number | undefined;
  #waitingToList = false;
  #finished = false;
  /** The stats object of the current attempt (a new one per attempt) and the rows counted from it. */
  #stats: SyncStats | undefined;
  #counted: Partial<Record<string, number>> = {};
  #api: Failing | undefined;
  #target: Failing | undefined;
  /** The outbox's pending deliveries and dead letters, as last read (webhook mode). */
  outbox: { pending: number; deadLetters: number } | undefined;

  constructor(labels: CampaignLabels, families: CampaignFamilies, now: () => number = Date.now) {
    this.labels = labels;
    this.webhook = labels.mode === "webhook";
    this.#families = families;
    this.#now = now;
    this.#movedAt = now();
  }

  apiAttempt({ endpoint, status, durationMs }: ApiAttempt): void {
    this.#count(this.#families.apiRequests, { endpoint, status: status === undefined ? "none" : String(status) });
    if (!this.#forgotten) {
      const labels = { ...this.labels, endpoint };
      this.#remember(this.#families.apiDuration, labels);
      this.#families.apiDuration.observe(labels, durationMs / 1000);
    }
    if (status === 429) this.#count(this.#families.apiThrottled, {});
    // A 4xx is an answer (a refused token, a throttle): the API is there. No answer or a 5xx is not.
    this.#api = status !== undefined && status < 500 ? undefined : this.#failing(this.#api, status ? `HTTP ${status}` : "no answer");
  }

  apiRetry(): void {
    this.#count(this.#families.apiRetries, {});
  }

  checkpoint(value: string): void {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) this.#checkpointMs = ms;
  }

  progress(stats: SyncStats): void {
    if (stats !== this.#stats) {
      this.#stats = stats;
      this.#counted = {};
    }
    for (const [table, rows = 0] of Object.entries(stats.rows)) {
      const added = rows - (this.#counted[table] ?? 0);
      if (added > 0) this.#count(this.#families.rows, { table }, added);
      this.#counted[table] = rows;
    }
    const done = stats.listing?.done;
    if (done !== this.#listingDone) this.#movedAt = this.#now();
    this.#listingDone = done;
  }

  target(answered: boolean, reason = "no answer"): void {
    this.#target = answered ? undefined : this.#failing(this.#target, reason);
  }

  delivery(outcome: DeliveryOutcome): void {
    this.#count(this.#families.deliveries, { outcome });
  }

  waitingToList(waiting: boolean): void {
    this.#waitingToList = waiting;
    this.#movedAt = this.#now();
  }

  state(state: CampaignState): void {
    this.#finished = state === "finished";
  }

  /** Unix seconds of the checkpoint, once known. */
  get checkpointSeconds(): number | undefined {
    return this.#checkpointMs === undefined ? undefined : this.#checkpointMs / 1000;
  }

  /**
   * How far behind the campaign is, in seconds (see the README's Metrics section for why): polling,
   * the checkpoint's age; while a listing runs or waits for its turn, the time since it last moved
   * (none while waiting); finished, none; without a checkpoint, the time since it last moved or
   * started (a campaign failing before its first listing falls behind).
   */
  lagSeconds(now = this.#now()): number {
    if (this.#finished || this.#waitingToList) return 0;
    const since = this.#listingDone === undefined && this.#checkpointMs !== undefined ? this.#checkpointMs : this.#movedAt;
    return Math.max(0, now - since) / 1000;
  }

  /** What keeps failing for longer than `limitMs`, in words; empty when API and target answer. */
  problems(limitMs: number, now = this.#now()): string[] {
    const problems: string[] = [];
    const seconds = (failing: Failing) => Math.round((now - failing.since) / 1000);
    if (this.#api && now - this.#api.since > limitMs) {
      problems.push(`the Dialfire API has not answered for ${seconds(this.#api)} s (last: ${this.#api.reason})`);
    }
    if (this.#target && now - this.#target.since > limitMs) {
      const what = this.webhook ? "the webhook receiver" : "the target database";
      problems.push(`${what} has not answered for ${seconds(this.#target)} s (last: ${this.#target.reason})`);
    }
    return problems;
  }

  /** Takes the campaign's series out of the families; it counts nothing from now on. */
  forget(): void {
    this.#forgotten = true;
    for (const [family, series] of this.#series) for (const labels of series.values()) family.remove(labels);
    this.#series.clear();
  }

  #failing(before: Failing | undefined, reason: string): Failing {
    return { since: before?.since ?? this.#now(), reason };
  }

  #count(family: Counter<string>, extra: Record<string, string>, value = 1): void {
    if (this.#forgotten) return;
    const labels = { ...this.labels, ...extra };
    this.#remember(family, labels);
    family.inc(labels, value);
  }

  #remember(family: Counter<string> | Histogram<string>, labels: Labels): void {
    const series = this.#series.get(family) ?? new Map<string, Labels>();
    this.#series.set(family, series);
    series.set(JSON.stringify(labels), labels);
  }
}
