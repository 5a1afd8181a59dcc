// Where dbsync keeps its files when the user names none: the system location of the original
// (/var/opt, /var/log), else the user's home. Writability is checked, not assumed (the original
// did not notice an existing folder it could not write, and lost its progress).
import { accessSync, closeSync, constants, mkdirSync, openSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

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
