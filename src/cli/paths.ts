// Where dbsync keeps its files when the user names none: the system location of the original
// (/var/opt, /var/log), else the user's home. Writability is checked, not assumed (W2).
import { accessSync, constants, mkdirSync } from "node:fs";
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
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}
