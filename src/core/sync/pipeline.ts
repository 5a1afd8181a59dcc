// The sync pipeline: Dialfire source → rows → sink, with a checkpoint that only moves once
// everything before it is durably written, or for webhooks delivered (the original saved the time of
// whichever item a worker wrote last, now and then, and kept what it had sent in memory only, so a
// restart re-sent or skipped). The modes and their start dates are the original's.
import { canonicalJson } from "./canonical-json.ts";
import { chunk, mapConcurrent } from "../common/concurrency.ts";
import { FatalError } from "../common/fatal-error.ts";
import { md5Hex } from "../common/md5.ts";
import { RecentlyHandled } from "./recently-handled.ts";
import { backoffMs, type RetryPolicy, sleep } from "../common/retry.ts";
import { readAhead } from "./read-ahead.ts";
import type { CheckpointLimit, RowCounts, Sink } from "./sink.ts";
import type { CampaignField, Contact, DialfireSource, EventFilters, TimeWindow } from "./source.ts";
import type { ListingProgress, Logger, SyncMode, SyncOptions, SyncStats } from "./options.ts";
import type { CheckpointKey, CheckpointStore } from "./checkpoints.ts";
import { fieldsLine, pollLine, rowsSince } from "./report.ts";

export type { ListingProgress, Logger, SyncMode, SyncOptions, SyncStats } from "./options.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Covers events the API shows up to this late; events it has seen before are not fetched again. */
export const DEFAULT_LOOKBACK_MINUTES = 15;
/** Listing pages read ahead of their writing (ids and md5s only): the total is known early, memory stays bounded. */
const LISTING_READ_AHEAD = 100;
const TARGET_RETRY: RetryPolicy = { attempts: Number.POSITIVE_INFINITY, baseMs: 500, maxMs: 15_000 };
/** A sink without a limit of its own (an SQL target: written is done). */
const UNLIMITED: CheckpointLimit = { kind: "unlimited" };

export async function runSync(options: SyncOptions): Promise<SyncStats> {
  const pipeline = new Pipeline(options);
  await pipeline.prepare();
  if (options.mode === "db_sync" || options.mode === "webhook") await pipeline.runForever();
  else await pipeline.runOnce();
  return pipeline.stats;
}

class Pipeline {
  readonly stats: SyncStats = { listed: 0, unchanged: 0, fetched: 0, vanished: 0, rows: {}, windows: 0 };
  private readonly mode: SyncMode;
  private readonly source: DialfireSource;
  private readonly sink: Sink;
  private readonly state: CheckpointStore;
  private readonly checkpointKey: CheckpointKey;
  private readonly start: Date | undefined;
  private readonly eventFilters: EventFilters;
  private readonly workers: number;
  private readonly intervalMs: number;
  private readonly relistEveryMs: number;
  private readonly listingTurn: NonNullable<SyncOptions["listingTurn"]>;
  private readonly log: Logger;
  private readonly onProgress: (stats: SyncStats) => void;
  private readonly signal: AbortSignal;
  private readonly now: () => Date;
  private readonly fetchBatch: number;
  private readonly writeBatch: number;
  private readonly overlapMs: number;
  private readonly inboundLookbackMs: number;
  private readonly maxWindowMs: number;
  private readonly maxFailedCycles: number;
  private readonly targetPatienceMs: number;
  private knownFields = new Set<string>();
  /** The last checkpoint this run saved. */
  private savedCheckpoint: string | undefined;
  /** The checkpoint from which what is being written now would be found again; none: only a full listing. */
  private floor: string | undefined;
  /** Webhook mode forwards transactions only, as the original. */
  private readonly withInboundCalls: boolean;
  private fieldsSignature = "";
  /** Event time + contact id → event md5, for events already handled in an earlier, overlapping window. */
  private readonly handledEvents = new RecentlyHandled();
  /** Inbound call id → content hash, for calls already written by an earlier, overlapping window. */
  private readonly handledCalls = new RecentlyHandled();

  constructor(options: SyncOptions) {
    ({
      mode: this.mode,
      source: this.source,
      sink: this.sink,
      state: this.state,
      checkpointKey: this.checkpointKey,
      start: this.start,
      eventFilters: this.eventFilters,
      workers: this.workers,
      intervalMs: this.intervalMs,
      log: this.log,
      signal: this.signal,
    } = options);
    this.onProgress = options.onProgress ?? (() => {});
    this.now = options.now ?? (() => new Date());
    this.listingTurn = options.listingTurn ?? ((listing) => listing());
    this.relistEveryMs = options.relistEveryMs ?? 12 * 60 * 60_000;
    this.fetchBatch = options.fetchBatch ?? 20;
    this.writeBatch = options.writeBatch ?? 500;
    this.overlapMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MINUTES * 60_000;
    this.inboundLookbackMs = Math.max(this.overlapMs, options.inboundLookbackMs ?? 60 * 60_000);
    this.maxWindowMs = options.maxWindowMs ?? 60 * 60_000;
    this.maxFailedCycles = options.maxFailedCycles ?? 30;
    this.targetPatienceMs = options.targetPatienceMs ?? 10 * 60_000;
    this.withInboundCalls = this.mode !== "webhook";
  }

  async prepare(): Promise<void> {
    await this.refreshFields(await this.source.fields(this.signal));
  }

  /** db_init and db_update: one listing with md5 comparison, the inbound calls, done. */
  async runOnce(): Promise<void> {
    const startedAt = this.now();
    const start = this.start ?? (this.mode === "db_update" ? new Date(startedAt.getTime() - 7 * DAY_MS) : undefined);
    this.log.info(start ? `listing contacts changed since ${day(start)}` : "listing all contacts");
    await this.listing(start);
    await this.inbound({ from: start ? start.toISOString() : "", to: startedAt.toISOString() });
    // Only a complete copy is a point db_sync can go on from (see runForever).
    if (this.mode === "db_init" && !start) await this.state.setCheckpoint(this.checkpointKey, startedAt.toISOString());
  }

  /**
   * db_sync and webhook: catch up with a listing from the checkpoint (or `--s`; db_sync lists
   * everything on its first run, webhook starts from now), then poll the transaction events every
   * interval. The checkpoint is saved after each step that completed, so a restart resumes from the
   * last complete one and a crash loses nothing.
   */
  async runForever(): Promise<void> {
    // A complete db_init into the same target (the original's documented first step) is as good as
    // a checkpoint of our own: everything changed before it started is in the target.
    const saved =
      (await this.state.getCheckpoint(this.checkpointKey)) ??
      (this.mode === "db_sync" ? await this.state.getCheckpoint({ ...this.checkpointKey, mode: "db_init" }) : undefined);
    const start = this.start ?? (saved ? new Date(saved.value) : undefined);
    const caughtUpAt = this.now();
    if (start || this.mode === "db_sync") {
      this.log.info(start ? `catching up: contacts changed since ${day(start)}` : "first run: listing all contacts of the campaign");
      this.floor = start?.toISOString();
      await this.listing(start);
      await this.inbound({
        from: start ? new Date(start.getTime() - this.inboundLookbackMs).toISOString() : "",
        to: caughtUpAt.toISOString(),
      });
    }
    let watermark = caughtUpAt;
    await this.saveCheckpoint(watermark);
    this.log.info(start || this.mode === "db_sync" ? "caught up; polling for new activity" : "polling for new activity");

    let lastRelist = caughtUpAt.getTime();
    let failedCycles = 0;
    for (;;) {
      this.signal.throwIfAborted();
      const cycleStart = Date.now();
      const before = { rows: { ...this.stats.rows }, fetched: this.stats.fetched };
      try {
        await this.refreshFields(await this.source.fields(this.signal));
        const now = this.now();
        if (now.getTime() - lastRelist >= this.relistEveryMs) {
          const since = new Date(now.getTime() - DAY_MS);
          this.log.info(`periodic re-listing of contacts changed since ${day(since)}`);
          this.floor = since.toISOString();
          await this.listing(since);
          await this.inbound({ from: since.toISOString(), to: now.toISOString() });
          lastRelist = now.getTime();
        }
        // After an outage the time since the watermark is walked in windows of bounded length, each
        // saved once written: progress is kept even if a later one fails, and memory stays bounded.
        while (watermark < now) {
          const to = new Date(Math.min(now.getTime(), watermark.getTime() + this.maxWindowMs));
          await this.window(watermark, to);
          watermark = to;
          await this.saveCheckpoint(watermark);
        }
        const written = rowsSince(before.rows, this.stats.rows);
        const line = pollLine(
          written,
          this.stats.fetched - before.fetched,
          this.now().getTime() - watermark.getTime(),
          this.mode === "webhook",
        );
        if (line) this.log.info(line);
        failedCycles = 0;
      } catch (error) {
        if (this.signal.aborted || error instanceof FatalError) throw error;
        // The watermark stays: the next cycle asks for the same window again.
        failedCycles++;
        if (failedCycles >= this.maxFailedCycles) {
          throw new SyncError(`no poll succeeded ${failedCycles} times in a row; the last error: ${messageOf(error)}`);
        }
        this.log.warn(`sync cycle failed, retrying in ${this.intervalMs / 1000} s: ${messageOf(error)}`);
      }
      await sleepUntil(cycleStart + this.intervalMs, this.signal);
    }
  }

  /**
   * Saves `watermark` as the checkpoint, held back to what the sink allows (webhook deliveries
   * still pending); never moves it backwards.
   */
  private async saveCheckpoint(watermark: Date): Promise<void> {
    const limit = (await this.sink.checkpointLimit?.()) ?? UNLIMITED;
    if (limit.kind === "frozen") return;
    const reached = watermark.toISOString();
    const value = limit.kind === "atMost" && limit.checkpoint < reached ? limit.checkpoint : reached;
    if (this.savedCheckpoint !== undefined && value <= this.savedCheckpoint) return;
    await this.state.setCheckpoint(this.checkpointKey, value);
    this.savedCheckpoint = value;
  }

  /** Listed contacts whose md5 differs from the stored one are fetched and written. */
  /**
   * A listing of everything, or of more than the last two days, holds many contacts and waits for
   * its turn; one of the last days (the daily re-listing, a catch-up after a short stop, a takeover
   * by another replica) is small and does not wait behind another campaign's big one.
   */
  private listing(since: Date | undefined): Promise<void> {
    const big = since === undefined || this.now().getTime() - since.getTime() > 2 * DAY_MS;
    return big ? this.listingTurn(() => this.listAndWrite(since)) : this.listAndWrite(since);
  }

  private async listAndWrite(since: Date | undefined): Promise<void> {
    const progress: ListingProgress = { listed: 0, done: 0, complete: false };
    this.stats.listing = progress;
    this.onProgress(this.stats);
    try {
      const pages = readAhead(
        (signal) => this.source.listContacts(since ? day(since) : undefined, signal),
        LISTING_READ_AHEAD,
        this.signal,
        {
          onRead: (page) => (progress.listed += page.length),
          onEnd: () => (progress.complete = true),
        },
      );
      for await (const page of pages) {
        this.stats.listed += page.length;
        const stored = await this.target(() => this.sink.knownMd5(page.map((item) => item.id)));
        const changed = page.filter((item) => !item.md5 || stored.get(item.id) !== item.md5).map((item) => item.id);
        this.stats.unchanged += page.length - changed.length;
        progress.done += page.length - changed.length;
        await this.fetchAndWrite(changed);
        this.onProgress(this.stats);
      }
    } finally {
      this.stats.listing = undefined;
      this.onProgress(this.stats);
    }
  }

  /** One polling window: the contacts of its transaction events, and its inbound calls. */
  private async window(watermark: Date, to: Date): Promise<void> {
    const window: TimeWindow = { from: new Date(watermark.getTime() - this.overlapMs).toISOString(), to: to.toISOString() };
    this.floor = watermark.toISOString();
    const pending = new Set<string>();
    // Marked as handled only once the whole window is written: a failed window is asked for again.
    const seen = new Map<string, string>();
    for await (const events of this.source.transactionEvents(window, this.eventFilters, this.signal)) {
      for (const event of events) {
        const key = `${event.time}|${event.contactId}`;
        if (this.handledEvents.has(key, event.md5)) continue;
        seen.set(key, event.md5);
        pending.add(event.contactId);
      }
      if (pending.size >= this.writeBatch) {
        await this.fetchAndWrite([...pending]);
        pending.clear();
      }
    }
    await this.fetchAndWrite([...pending]);
    await this.inbound({ from: new Date(watermark.getTime() - this.inboundLookbackMs).toISOString(), to: window.to }, true);
    this.handledEvents.remember(seen, to.getTime());
    this.handledEvents.forgetBefore(to.getTime() - 3 * this.overlapMs);
    this.handledCalls.forgetBefore(to.getTime() - 3 * this.inboundLookbackMs);
    this.stats.windows++;
  }

  /**
   * Fetches with up to `workers` requests at once; writes in transactions of `writeBatch` contacts.
   * The next group is fetched while one is written, so that the API and the database work at once.
   */
  private async fetchAndWrite(ids: readonly string[]): Promise<void> {
    const groups = chunk(ids, Math.max(this.writeBatch, this.workers * this.fetchBatch));
    // Stopped when this ends by a failure: a prefetch nobody will write must not go on fetching
    // (with its retries) beside the next attempt, over the `--w` limit.
    const fetching = new AbortController();
    const stop = () => fetching.abort(this.signal.reason);
    if (this.signal.aborted) stop();
    else this.signal.addEventListener("abort", stop, { once: true });
    const fetchGroup = (group: readonly string[]) =>
      mapConcurrent(chunk(group, this.fetchBatch), this.workers, (batch) => this.source.fetchContacts(batch, fetching.signal));
    try {
      let next = groups[0] ? fetchGroup(groups[0]) : undefined;
      for (const [i, group] of groups.entries()) {
        const contacts = ((await next) ?? []).flat();
        const following = groups[i + 1];
        next = following ? fetchGroup(following) : undefined;
        // Should this group's write fail, the prefetch is stopped; its own failure shows when awaited.
        next?.catch(() => {});
        this.stats.fetched += contacts.length;
        this.stats.vanished += group.length - contacts.length;
        await this.ensureColumnsFor(contacts);
        for (const part of chunk(contacts, this.writeBatch)) {
          this.count(await this.target(() => this.sink.writeContacts(part, { floor: this.floor })));
        }
        if (this.stats.listing) this.stats.listing.done += group.length;
        this.onProgress(this.stats);
      }
    } finally {
      this.signal.removeEventListener("abort", stop);
      fetching.abort();
    }
  }

  /** `overlapping`: a poll's window, which reads back over calls earlier polls wrote. */
  private async inbound(window: TimeWindow, overlapping = false): Promise<void> {
    if (!this.withInboundCalls) return;
    for await (const calls of this.source.inboundCalls(window, this.signal)) {
      if (!overlapping) {
        this.count(await this.target(() => this.sink.writeInboundCalls(calls)));
        continue;
      }
      const hashed = calls.map((call) => [call, md5Hex(canonicalJson(call))] as const);
      const fresh = hashed.filter(([call, hash]) => !this.handledCalls.has(call.id, hash));
      if (fresh.length === 0) continue;
      this.count(await this.target(() => this.sink.writeInboundCalls(fresh.map(([call]) => call))));
      this.handledCalls.remember(
        fresh.map(([call, hash]) => [call.id, hash] as const),
        this.now().getTime(),
      );
    }
  }

  /**
   * A contact carrying a field the field list did not have means the campaign gained a field since
   * it was read: read it again before writing, or the new values would be dropped and, their md5
   * being stored, never written.
   */
  private async ensureColumnsFor(contacts: readonly Contact[]): Promise<void> {
    const unknown = new Set<string>();
    for (const contact of contacts) {
      for (const key of Object.keys(contact)) if (!key.startsWith("$") && !this.knownFields.has(key)) unknown.add(key);
    }
    if (unknown.size === 0) return;
    await this.refreshFields(await this.source.fields(this.signal));
    // Keys that are still no field (deleted fields, stray data) must not trigger a re-read each time.
    for (const key of unknown) this.knownFields.add(key);
  }

  private async refreshFields(fields: CampaignField[]): Promise<void> {
    const signature = JSON.stringify(fields.map((f) => [f.name, f.type, f.fieldType, f.deleted]));
    if (signature === this.fieldsSignature) return;
    const newFields = fields.filter((f) => !this.knownFields.has(f.name)).map((f) => f.name);
    const added = await this.target(() => this.sink.prepare(fields));
    const line = fieldsLine({ changed: this.fieldsSignature !== "", newFields, added });
    if (line) this.log.info(line);
    this.fieldsSignature = signature;
    this.knownFields = new Set([...this.knownFields, ...fields.map((f) => f.name)]);
  }

  /**
   * Runs one target operation; while the database is unreachable (restarting, network gone) it waits
   * and tries again, for up to `targetPatienceMs`. A write is one transaction, so a retry after a
   * broken connection neither loses nor doubles anything.
   */
  private async target<T>(operation: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await operation();
        if (attempt > 0) this.log.info("the target database is back; going on");
        return result;
      } catch (error) {
        const transient = (error as { transient?: boolean })?.transient === true;
        if (!transient || this.signal.aborted || Date.now() - started >= this.targetPatienceMs) throw error;
        const waitMs = backoffMs(TARGET_RETRY, attempt);
        if (attempt === 0) this.log.warn(`the target database is unreachable (${messageOf(error)}); waiting for it`);
        await sleep(waitMs, this.signal);
      }
    }
  }

  private count(counts: RowCounts): void {
    for (const [key, n] of Object.entries(counts)) {
      const table = key as keyof RowCounts;
      this.stats.rows[table] = (this.stats.rows[table] ?? 0) + (n ?? 0);
    }
  }
}

/** db_sync could not make progress for too long; a supervisor (systemd, cron) should see it fail. */
export class SyncError extends Error {
  override name = "SyncError";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  return sleep(Math.max(0, deadline - Date.now()), signal);
}
