// Console and log file output through consola, as text for people or as one JSON object per line for
// journald, Loki and the like. Secrets (the token, database passwords) are replaced before anything
// is written anywhere (the original logged the database URL, password included, at start).
import { appendFileSync } from "node:fs";
import { dirname } from "node:path";
import { type ConsolaInstance, type ConsolaReporter, createConsola, type LogObject } from "consola";
import { formatWithOptions } from "node:util";
import { FILE_ONLY } from "../campaign/log-digests.ts";
import { maskSecretShapes } from "../core/common/redact.ts";
import { DEFAULT_LOG_KEEP_DAYS, pruneLogFiles } from "./paths.ts";
import { setShutdownNotice } from "./shutdown.ts";

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

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What every line of a logger is about; a line's own `campaign` and `mode` fields take their place. */
export interface LogContext {
  campaign?: string;
  mode?: string;
}

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * A line's message and its fields: a plain object after the message holds fields (`log.info("GET /x
 * 200 3 ms", { status: 200 })`). The text format leaves them out (the message says the same in words);
 * the JSON format carries them.
 */
function split(log: LogObject): { message: string; fields?: Fields } {
  const last = log.args.at(-1);
  const hasFields = log.args.length > 1 && isFields(last);
  const args = hasFields ? log.args.slice(0, -1) : log.args;
  const message = redact(formatWithOptions({ colors: false, breakLength: Number.POSITIVE_INFINITY }, ...args));
  return hasFields ? { message, fields: last } : { message };
}

/** The original's log levels 0–5 (critical … debug) as consola levels. */
export function consolaLevel(level: number): number {
  return [0, 0, 1, 2, 3, 4][level] ?? 3;
}

const LEVEL_NAMES: Record<number, string> = { 0: "ERROR", 1: "WARN", 2: "NOTE", 3: "INFO", 4: "DEBUG", 5: "TRACE" };

function levelName(log: LogObject): string {
  return LEVEL_NAMES[log.level] ?? "INFO";
}

/** One JSON object: time, level, campaign and mode (when known), message, and the fields when there are any. */
export function jsonLine(log: LogObject, context: LogContext): string {
  const { message, fields } = split(log);
  const { campaign = context.campaign, mode = context.mode, ...rest } = fields ?? {};
  const own = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, typeof value === "string" ? redact(value) : value]));
  const line: Fields = { time: log.date.toISOString(), level: levelName(log).toLowerCase() };
  if (campaign !== undefined) line.campaign = typeof campaign === "string" ? redact(campaign) : campaign;
  if (mode !== undefined) line.mode = mode;
  line.message = message;
  if (Object.keys(own).length > 0) line.fields = own;
  return JSON.stringify(line);
}

type LineFormat = (log: LogObject, destination: "file" | "console") => string;

function lineFormat(format: LogFormat, context: LogContext): LineFormat {
  if (format === "json") return (log) => jsonLine(log, context);
  return (log, destination) => {
    const { message } = split(log);
    if (destination === "file") return `${log.date.toISOString()} ${levelName(log)} ${message}`;
    return `${log.level <= 0 ? "error: " : log.level === 1 ? "warning: " : ""}${message}`;
  };
}

function fileReporter(path: string, level: number, format: LineFormat): ConsolaReporter {
  return {
    log(log) {
      if (log.level > level) return;
      appendFileSync(path, `${format(log, "file")}\n`);
    },
  };
}

function consoleReporter(stream: NodeJS.WriteStream, level: number, format: LineFormat, beforeWrite?: () => void): ConsolaReporter {
  return {
    log(log) {
      if (log.level > level || log.tag === FILE_ONLY) return;
      beforeWrite?.();
      stream.write(`${format(log, "console")}\n`);
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
  /** Text unless told (`--log-format`). */
  format?: LogFormat;
  /** What the lines are about, for the JSON format (text lines say it in their words). */
  context?: LogContext;
  /**
   * Days dbsync's older log files in the log file's folder are kept (`--log-keep-days`, default 30;
   * 0 keeps them all): a service restarted now and then would otherwise fill the disk with them.
   */
  keepDays?: number;
}

export function createLogger(setup: LoggerSetup): ConsolaInstance {
  const format = lineFormat(setup.format ?? "text", setup.context ?? {});
  const reporters: ConsolaReporter[] = setup.verbose
    ? [consoleReporter(process.stdout, 4, format, setup.beforeConsoleWrite)]
    : // The console never says more than the log file: `--l 1` quiets both.
      [consoleReporter(process.stderr, Math.min(setup.consoleLevel ?? 3, setup.level), format, setup.beforeConsoleWrite)];
  if (!setup.verbose && setup.logFile) reporters.push(fileReporter(setup.logFile, setup.level, format));
  const logger = createConsola({ level: 5, reporters });
  const stream = setup.verbose ? process.stdout : process.stderr;
  if (setup.format === "json" && (setup.verbose || (setup.consoleLevel ?? 3) >= 0)) {
    // The console stays JSON when a signal stops the work, as the text notice ignores --l.
    setShutdownNotice((line) => {
      stream.write(`${jsonLine({ level: 3, type: "info", tag: "", args: [line], date: new Date() }, setup.context ?? {})}\n`);
    });
  }
  if (!setup.verbose && setup.logFile) {
    const keepDays = setup.keepDays ?? DEFAULT_LOG_KEEP_DAYS;
    const folder = dirname(setup.logFile);
    const removed = pruneLogFiles(folder, keepDays, setup.logFile);
    if (removed > 0) {
      const files = removed === 1 ? "log file" : "log files";
      logger.info(`removed ${removed} ${files} older than ${keepDays} days from ${folder}`, { removed, keepDays });
    }
  }
  return logger;
}

/**
 * Where the log goes, said at the start: on stdout as `Logfile: …` in text, as the original did; as a
 * log line in JSON, so that a JSON reader of the output meets nothing else.
 */
export function announceLogFile(log: ConsolaInstance, format: LogFormat | undefined, logFile: string | undefined): void {
  if (format === "json") log.info(`log file: ${logFile ?? "stdout"}`);
  else process.stdout.write(`Logfile: ${logFile ?? "stdout"}\n`);
}
