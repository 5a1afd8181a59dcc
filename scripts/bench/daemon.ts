// `dbsync run --config FILE` as the daemon's benchmarks start it: its config file written into a
// folder of its own, its console (stderr) read as it comes so a benchmark can wait for a line.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { until } from "../../test/helpers/compare.ts";
import { collectOutput } from "../../test/helpers/run.ts";
import { CLI } from "./children.ts";

export interface Daemon {
  pid: number;
  exited: Promise<number>;
  console(): string;
  /** Resolves with the first match of `pattern` on the console; throws with the console after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then its exit code: 0 is a clean stop. */
  stop(): Promise<number>;
  kill(signal: "SIGKILL" | "SIGTERM"): void;
}

export function startDaemon(dir: string, configYaml: string, name = "dbsync"): Daemon {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, configYaml);
  const child = Bun.spawn([process.execPath, CLI, "run", "--config", config], {
    env: { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, `${name}-data`), DBSYNC_LOG_DIR: join(dir, `${name}-logs`) },
    stdout: "pipe",
    stderr: "pipe",
  });
  void new Response(child.stdout).text();
  const output = collectOutput(child.stderr);
  return {
    pid: child.pid,
    exited: child.exited,
    console: output.text,
    async waitFor(pattern, timeoutMs) {
      const ended = () => child.exitCode !== null || child.signalCode !== null;
      await until(async () => pattern.test(output.text()) || ended(), timeoutMs);
      const match = pattern.exec(output.text());
      if (match) return match;
      const why = ended() ? `dbsync run ended (${child.exitCode ?? child.signalCode})` : `not within ${timeoutMs / 1000} s`;
      throw new Error(
        `${name}: no console line matching ${pattern}: ${why}; its console said:\n${output.text().trim().split("\n").slice(-15).join("\n")}`,
      );
    },
    async stop() {
      child.kill("SIGTERM");
      return child.exited;
    },
    kill: (signal) => child.kill(signal),
  };
}
