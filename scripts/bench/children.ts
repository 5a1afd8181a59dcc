// The processes a benchmark measures: the simulator and dbsync itself, each in a process of its own
// so that what is timed and its peak memory are dbsync's alone.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serveUrl } from "../../test/helpers/run.ts";

export const CLI = resolve(import.meta.dir, "../../src/cli.ts");
export const CAMPAIGN = "BENCHCAMPAIGN001";
export const TOKEN = "bench-token-0123456789";

export function scratch(name: string): string {
  return mkdtempSync(join(process.env.DBSYNC_BENCH_TMP ?? tmpdir(), `dbsync-bench-${name}-`));
}

export interface SimulatorProcess {
  url: string;
  stop(): Promise<void>;
}

/** `dbsync simulate` with `contacts` contacts and no background activity. */
export async function simulatorProcess(contacts: number, seed: number): Promise<SimulatorProcess> {
  const child = Bun.spawn(
    [
      process.execPath,
      CLI,
      "simulate",
      "--port",
      "0",
      "--activity",
      "0",
      "--contacts",
      String(contacts),
      "--seed",
      String(seed),
      "--campaign",
      CAMPAIGN,
      "--token",
      TOKEN,
    ],
    // stderr only matters when it fails to start (it also says goodbye there when stopped)
    { stdout: "pipe", stderr: "pipe" },
  );
  const url = await serveUrl(child, () => new Response(child.stderr).text());
  void new Response(child.stderr).text();
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

export interface Measured {
  seconds: number;
  /** Peak resident memory of the process, bytes. */
  maxRss: number;
  output: string;
}

/** One dbsync command to its end: wall time and peak RSS; a non-zero exit is an error. */
export async function measureCli(argv: string[], env: Record<string, string> = {}): Promise<Measured> {
  const home = scratch("home");
  const started = performance.now();
  const child = Bun.spawn([process.execPath, CLI, ...argv], {
    env: { PATH: process.env.PATH ?? "", HOME: home, DBSYNC_DATA_DIR: join(home, "data"), DBSYNC_LOG_DIR: join(home, "logs"), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const peak = peakRss(child.pid);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0)
    throw new Error(`dbsync ${argv.slice(0, 2).join(" ")} exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return { seconds, maxRss: peak.stop(), output: stdout + stderr };
}

/**
 * The process's peak resident memory, read from the kernel's high-water mark (VmHWM) while it runs.
 * Not getrusage: a child's ru_maxrss may include what its parent had when it was spawned.
 */
export function peakRss(pid: number): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      if (kb) peak = Math.max(peak, Number(kb) * 1024);
    } catch {}
  };
  read();
  const timer = setInterval(read, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

export function syncArgs(mode: string, apiUrl: string, url: string, state: string, ...extra: string[]): string[] {
  return ["sync", "--a", mode, "--c", CAMPAIGN, "--ct", TOKEN, "--api-url", apiUrl, "--url", url, "--state", state, ...extra];
}
