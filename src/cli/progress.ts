// A one-line progress display for long catch-ups, only when a person watches a terminal. The API
// tells no total in advance (the listing arrives page by page), so it shows counts and a rate.
import type { SyncStats } from "../core/sync.ts";

export interface Progress {
  update(stats: SyncStats): void;
  clear(): void;
}

export function createProgress(stream: NodeJS.WriteStream, enabled: boolean): Progress {
  let shown = false;
  let lastDraw = 0;
  const started = Date.now();
  const clear = () => {
    if (shown) stream.write("\r\x1b[2K");
    shown = false;
  };
  if (!enabled || !stream.isTTY) return { update() {}, clear };
  const n = (value: number) => value.toLocaleString("en");
  return {
    update(stats) {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const rows = Object.values(stats.rows).reduce((sum, count) => sum + (count ?? 0), 0);
      const checked = stats.unchanged + stats.fetched + stats.vanished;
      const perSecond = Math.round(checked / Math.max(0.001, (now - started) / 1000));
      stream.write(
        `\r\x1b[2K${n(checked)} contacts checked (${n(stats.unchanged)} unchanged, ${n(stats.fetched)} fetched) · ${n(rows)} rows written · ${n(perSecond)}/s`,
      );
      shown = true;
    },
    clear,
  };
}
