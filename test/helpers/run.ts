// Running dbsync from tests: in-process for speed, or as the real CLI in a child process.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createConsola } from "consola";
import { until } from "./compare.ts";
import { parseSyncConfig } from "../../src/cli/sync-config.ts";
import { runSyncCommand } from "../../src/cli/sync-command.ts";

export const CLI = resolve(import.meta.dir, "../../src/cli.ts");

/**
 * The original's flat flags of one run, in the order it documents them: `--a` mode, `--c` campaign,
 * `--ct` token, `--api-url`, `--url` target, `--state`.
 */
export function flatFlags(mode: string, campaign: string, token: string, apiUrl: string, url: string, state: string): string[] {
  return ["--a", mode, "--c", campaign, "--ct", token, "--api-url", apiUrl, "--url", url, "--state", state];
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `dbsync-${name}-`));
}

/**
 * Flags as on the command line (`["--a", "db_init", …]`), run in this process; resolves to the exit
 * code. Log lines go to `log` when given (errors only are printed otherwise: retries are expected).
 */
export function syncInProcess(argv: string[], signal: AbortSignal = new AbortController().signal, log?: string[]): Promise<number> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) flags[(argv[i] as string).replace(/^--?/, "")] = argv[i + 1] as string;
  const logger = log
    ? createConsola({ level: 4, reporters: [{ log: (entry) => void log.push(entry.args.map(String).join(" ")) }] })
    : createConsola({ level: 0 });
  return runSyncCommand({ config: parseSyncConfig(flags), signal, quiet: true, logger });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The real command line in a child process, with its own HOME so nothing touches the user's files. */
export async function runCli(argv: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  const home = tempDir("home");
  const child = Bun.spawn(["bun", CLI, ...argv], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      DBSYNC_DATA_DIR: join(home, "data"),
      DBSYNC_LOG_DIR: join(home, "logs"),
      ...options.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - started };
}

/**
 * The URL a `dbsync serve` child prints when it listens. Its stdout is drained from then on: a full
 * pipe would stall the server, not the test.
 */
export async function serveUrl(
  server: { stdout: ReadableStream<Uint8Array> },
  stderr: () => string | Promise<string> = () => "",
): Promise<string> {
  const reader = server.stdout.getReader();
  let text = "";
  while (!/on (http:\/\/\S+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve ended: ${text}${await stderr()}`);
    text += new TextDecoder().decode(value);
  }
  void (async () => {
    for (;;) if ((await reader.read()).done) return;
  })();
  return /on (http:\/\/\S+)/.exec(text)?.[1] ?? "";
}

/** A child's output, read as it comes, so a test can wait for a line. */
export function collectOutput(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const reader = stream.getReader();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += new TextDecoder().decode(value);
    }
  })();
  return {
    text: () => text,
    async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
      const seen = await until(async () => pattern.test(text), timeoutMs);
      if (!seen) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; the output was:\n${text}`);
    },
  };
}
