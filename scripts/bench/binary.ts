// 5. Binary: the size of the linux-x64 binary and how long `--help` takes from start to exit.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { percentile } from "./lag.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BINARY = resolve(ROOT, "dist/dbsync-linux-x64");

export interface BinaryResult {
  sizeMb: number;
  helpMedianMs: number;
  helpP90Ms: number;
  runs: number;
}

export function binaryBench(runs: number): BinaryResult {
  if (!existsSync(BINARY)) execFileSync(process.execPath, [resolve(ROOT, "scripts/compile.ts"), "--target", "linux-x64"], { cwd: ROOT, stdio: "ignore" });
  execFileSync(BINARY, ["--help"], { stdio: "ignore" }); // the first start unpacks the libSQL addon
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    execFileSync(BINARY, ["--help"], { stdio: "ignore" });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { sizeMb: statSync(BINARY).size / 2 ** 20, helpMedianMs: percentile(times, 50), helpP90Ms: percentile(times, 90), runs };
}
