// Where dbsync keeps its files when the user names none: the system location of the original
// (/var/opt, /var/log), else the user's home. Writability is checked, not assumed (the original
// did not notice an existing folder it could not write, and lost its progress).
import { accessSync, closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, unlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SYNC_MODES } from "../core/sync/options.ts";

function usableDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function firstUsable(candidates: string[]): string {
  for (const dir of candidates) if (usableDir(dir)) return dir;
  throw new Error(`none of these folders can be written: ${candidates.join(", ")}`);
}

export function dataDir(env: Record<string, string | undefined> = process.env): string {
  return firstUsable([env.DBSYNC_DATA_DIR ?? "/var/opt/dbsync", join(env.HOME ?? homedir(), ".dbsync")]);
}

export function logDir(env: Record<string, string | undefined> = process.env): string {
  return firstUsable([env.DBSYNC_LOG_DIR ?? "/var/log/dbsync", join(env.HOME ?? homedir(), ".dbsync", "logs")]);
}

/** `YYYYMMDDhhmmss` in local time, as in the original's log file names. */
export function fileTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const day = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`;
  return `${day}${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/**
 * A log file of this run's own, created here: `{stem}_{timestamp}.log` as the original named them,
 * or `{stem}_{timestamp}_2.log`, `_3` … when another run started in the same second has that name.
 * The file is created exclusively, so two runs never write into one file whatever their timing.
 */
export function createLogFile(stem: string, date: Date = new Date(), dir: string = logDir()): string {
  const base = join(dir, `${stem}_${fileTimestamp(date)}`);
  for (let n = 1; ; n++) {
    const path = n === 1 ? `${base}.log` : `${base}_${n}.log`;
    try {
      closeSync(openSync(path, "wx"));
      return path;
    } catch (error) {
      // Anything but a taken name (a folder that cannot be written) is the caller's to report.
      if ((error as { code?: string }).code !== "EEXIST" || n >= 10_000) throw error;
    }
  }
}

export const DEFAULT_LOG_KEEP_DAYS = 30;

/**
 * The names createLogFile gives: `{campaign}_{mode}_{timestamp}.log` of a sync and `serve_{port}_…`
 * of the server, with `_2`, `_3` … after the timestamp. A folder shared with other programs keeps their files.
 */
const OWN_LOG_FILE = new RegExp(String.raw`^(?:[\w-]+_(?:${SYNC_MODES.join("|")})|serve_\d+)_\d{14}(?:_\d+)?\.log$`);

/**
 * Deletes dbsync's log files in `dir` last written more than `keepDays` days ago, never `current`
 * nor anything not named as dbsync names its files; 0 days keeps everything. Returns how many went.
 * A file that cannot be deleted (another user's) is left: a run does not fail over old logs.
 */
export function pruneLogFiles(dir: string, keepDays: number, current?: string, now: number = Date.now()): number {
  if (keepDays <= 0) return 0;
  const oldest = now - keepDays * 86_400_000;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    if (!OWN_LOG_FILE.test(name) || path === current) continue;
    try {
      const stat = lstatSync(path);
      if (!stat.isFile() || stat.mtimeMs >= oldest) continue;
      unlinkSync(path);
      removed++;
    } catch {
      // Gone meanwhile (another run pruned it) or not ours to delete.
    }
  }
  return removed;
}
