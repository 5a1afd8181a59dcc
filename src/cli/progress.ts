// A one-line progress display for long catch-ups, only when a person watches a terminal.
import type { SyncStats } from "../core/sync.ts";

export interface Progress {
  update(stats: SyncStats): void;
  clear(): void;
}

export function createProgress(stream: NodeJS.WriteStream, enabled: boolean): Progress {
  let shown = false;
  let lastDraw = 0;
  const clear = () => {
    if (shown) stream.write("\r\x1b[2K");
    shown = false;
  };
  if (!enabled || !stream.isTTY) return { update() {}, clear };
  return {
    update(stats) {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const rows = Object.values(stats.rows).reduce((sum, n) => sum + (n ?? 0), 0);
      const done = stats.unchanged + stats.fetched + stats.vanished;
      const width = 24;
      const filled = stats.listed > 0 ? Math.min(width, Math.round((done / stats.listed) * width)) : 0;
      const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
      stream.write(
        `\r\x1b[2K${bar} ${done.toLocaleString("en")}/${stats.listed.toLocaleString("en")} contacts · ${stats.fetched.toLocaleString("en")} fetched · ${rows.toLocaleString("en")} rows`,
      );
      shown = true;
    },
    clear,
  };
}
