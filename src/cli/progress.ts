// Progress of long listings. A person at a terminal sees one line redrawn in place; without a
// terminal (a service, a redirect, --v) a line goes to the log every 10 s instead, so that a log
// read later shows the run moving and how long it still needs. The API tells no total in advance
// (the listing arrives page by page): until its last page the lines say how many were listed so far.
import type { ListingProgress, SyncStats } from "../core/sync/pipeline.ts";

export interface Progress {
  update(stats: SyncStats): void;
  /** Removes the terminal's line and ends the log lines (the run is over). */
  clear(): void;
}

export interface ProgressOptions {
  /** Where the lines go when no terminal shows the one-line display. */
  log?: (line: string) => void;
  /** How often a line is logged while a listing is under way. */
  everyMs?: number;
  now?: () => number;
}

export function createProgress(stream: NodeJS.WriteStream, enabled: boolean, options: ProgressOptions = {}): Progress {
  if (enabled && stream.isTTY) return terminalProgress(stream);
  return options.log ? loggedProgress(options.log, options) : { update() {}, clear() {} };
}

function terminalProgress(stream: NodeJS.WriteStream): Progress {
  let shown = false;
  let lastDraw = 0;
  const started = Date.now();
  return {
    update(stats) {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const rows = rowsOf(stats);
      const checked = stats.unchanged + stats.fetched + stats.vanished;
      const perSecond = Math.round(checked / Math.max(0.001, (now - started) / 1000));
      stream.write(
        `\r\x1b[2K${n(checked)} contacts checked (${n(stats.unchanged)} unchanged, ${n(stats.fetched)} fetched) · ` +
          `${n(rows)} rows written · ${n(perSecond)}/s`,
      );
      shown = true;
    },
    clear() {
      if (shown) stream.write("\r\x1b[2K");
      shown = false;
    },
  };
}

/** While a listing is under way, one line every `everyMs`, also when nothing moved (a slow API shows). */
function loggedProgress(log: (line: string) => void, options: ProgressOptions): Progress {
  const everyMs = options.everyMs ?? 10_000;
  const now = options.now ?? Date.now;
  let latest: SyncStats | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  /** The listing's start: its own rate, not diluted by the polls of db_sync before it. */
  let start: { at: number; rows: number } | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
    start = undefined;
  };
  const tick = () => {
    const listing = latest?.listing;
    if (!latest || !listing || !start) return stop();
    log(listingLine(listing, (rowsOf(latest) - start.rows) / Math.max(0.001, (now() - start.at) / 1000), (now() - start.at) / 1000));
  };
  return {
    update(stats) {
      latest = stats;
      if (!stats.listing) return stop();
      if (timer !== undefined) return;
      start = { at: now(), rows: rowsOf(stats) };
      timer = setInterval(tick, everyMs);
      // A line due after the run has ended must not keep the process alive.
      (timer as { unref?: () => void }).unref?.();
    },
    clear: stop,
  };
}

/** `listing: 12,000 of 20,000 contacts done (60%) · 3,400 rows/s · about 40 s left`. */
export function listingLine(listing: ListingProgress, rowsPerSecond: number, elapsedSeconds: number): string {
  const rate = `${n(Math.round(rowsPerSecond))} rows/s`;
  if (!listing.complete) {
    const soFar = `${n(listing.listed)} listed so far (the total is known once the listing ends)`;
    return `listing: ${n(listing.done)} contacts done, ${soFar} · ${rate}`;
  }
  const share = listing.listed === 0 ? 100 : Math.floor((100 * listing.done) / listing.listed);
  const perSecond = listing.done / Math.max(0.001, elapsedSeconds);
  const left = perSecond > 0 ? ` · about ${duration((listing.listed - listing.done) / perSecond)} left` : "";
  return `listing: ${n(listing.done)} of ${n(listing.listed)} contacts done (${share}%) · ${rate}${left}`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function rowsOf(stats: SyncStats): number {
  return Object.values(stats.rows).reduce((sum, count) => sum + (count ?? 0), 0);
}

function n(value: number): string {
  return value.toLocaleString("en");
}
