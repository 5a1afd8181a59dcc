// 5. Binary: the size of the linux-x64 binary and how long `--help` takes from start to exit.
import { execFileSync } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { scratch } from "./children.ts";
import { percentile } from "./lag.ts";

const ROOT = resolve(import.meta.dir, "../..");

export interface BinaryResult {
  /** What `--version` of the measured binary says: the commit it was built from. */
  version: string;
  sizeMb: number;
  helpMedianMs: number;
  helpP90Ms: number;
  runs: number;
}

/** Built anew from this checkout into a folder of its own: a binary left in dist/ may be older. */
export function binaryBench(runs: number): BinaryResult {
  const outdir = scratch("binary");
  execFileSync(process.execPath, [resolve(ROOT, "scripts/compile.ts"), "--target", "linux-x64", "--outdir", outdir], {
    cwd: ROOT,
    stdio: "ignore",
  });
  const binary = resolve(outdir, "dbsync-linux-x64");
  // the first start also unpacks the libSQL addon
  const version = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    execFileSync(binary, ["--help"], { stdio: "ignore" });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const sizeMb = statSync(binary).size / 2 ** 20;
  rmSync(outdir, { recursive: true, force: true });
  return { version, sizeMb, helpMedianMs: percentile(times, 50), helpP90Ms: percentile(times, 90), runs };
}
