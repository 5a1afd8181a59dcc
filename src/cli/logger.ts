// Console and log file output through consola. Secrets (the token, database passwords) are
// replaced before anything is written anywhere (the original logged the database URL, password
// included, at start).
import { appendFileSync } from "node:fs";
import { type ConsolaInstance, type ConsolaReporter, createConsola, type LogObject } from "consola";
import { formatWithOptions } from "node:util";
import { FILE_ONLY } from "../campaign/log-digests.ts";
import { maskSecretShapes } from "../core/common/redact.ts";

const secrets = new Set<string>();

/** Registers a value that must never appear in any output. */
export function addSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  // Secrets nobody registered (a stored token, a query string's values) are masked by their shape.
  return maskSecretShapes(out);
}

function format(log: LogObject): string {
  return redact(formatWithOptions({ colors: false, breakLength: Number.POSITIVE_INFINITY }, ...log.args));
}

/** The original's log levels 0–5 (critical … debug) as consola levels. */
export function consolaLevel(level: number): number {
  return [0, 0, 1, 2, 3, 4][level] ?? 3;
}

const LEVEL_NAMES: Record<number, string> = { 0: "ERROR", 1: "WARN", 2: "NOTE", 3: "INFO", 4: "DEBUG", 5: "TRACE" };

function fileReporter(path: string, level: number): ConsolaReporter {
  return {
    log(log) {
      if (log.level > level) return;
      const line = `${log.date.toISOString()} ${LEVEL_NAMES[log.level] ?? "INFO"} ${format(log)}\n`;
      appendFileSync(path, line);
    },
  };
}

function consoleReporter(stream: NodeJS.WriteStream, level: number, beforeWrite?: () => void): ConsolaReporter {
  return {
    log(log) {
      if (log.level > level || log.tag === FILE_ONLY) return;
      beforeWrite?.();
      const prefix = log.level <= 0 ? "error: " : log.level === 1 ? "warning: " : "";
      stream.write(`${prefix}${format(log)}\n`);
    },
  };
}

export interface LoggerSetup {
  /** Write everything at this consola level to stdout instead of a file (`--v`). */
  verbose: boolean;
  level: number;
  logFile?: string;
  /** The most detailed consola level also written to stderr without `--v` (default 3, info). */
  consoleLevel?: number;
  /** Called before a console line is written, e.g. to clear a progress bar. */
  beforeConsoleWrite?: () => void;
}

export function createLogger(setup: LoggerSetup): ConsolaInstance {
  const reporters: ConsolaReporter[] = setup.verbose
    ? [consoleReporter(process.stdout, 4, setup.beforeConsoleWrite)]
    : // The console never says more than the log file: `--l 1` quiets both.
      [consoleReporter(process.stderr, Math.min(setup.consoleLevel ?? 3, setup.level), setup.beforeConsoleWrite)];
  if (!setup.verbose && setup.logFile) reporters.push(fileReporter(setup.logFile, setup.level));
  return createConsola({ level: 5, reporters });
}
