// `dbsync run` with one campaign whose target database falls silent mid-write: removed from the file,
// its stop hangs until the target answers again, and meanwhile the other campaigns keep their leases
// and go on writing; once the target is back, everything stops cleanly on SIGTERM.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { targetDifferences, until } from "./helpers/compare.ts";
import { type FreshDatabase, freshDatabase } from "./helpers/databases.ts";
import { CLI, collectOutput, tempDir } from "./helpers/run.ts";
import { type SilentProxy, startSilentProxy } from "./helpers/silent-proxy.ts";

setDefaultTimeout(120_000);

describe("dbsync run beside a target that stops answering", () => {
  const dir = tempDir("stuck-target");
  let state: FreshDatabase;
  let target: FreshDatabase;
  let proxy: SilentProxy;
  let sims: RunningSimulator[];

  beforeAll(async () => {
    [state, target] = await Promise.all([freshDatabase("postgres"), freshDatabase("postgres")]);
    proxy = startSilentProxy(Number(new URL(target.url).port || 5432));
    sims = [0, 1, 2].map((i) =>
      startSimulator({ campaignId: `STUCKTARGETCAM0${i}`, token: `stuck-token-${i}-0123456789`, contacts: 20, seed: 70 + i }),
    );
  });
  afterAll(async () => {
    proxy?.stop();
    await Promise.all(sims.map((sim) => sim.stop()));
    await Promise.all([state?.drop(), target?.drop()]);
  });

  test("the silent one's stop does not cost the others their leases", async () => {
    const behindProxy = new URL(target.url);
    behindProxy.port = String(proxy.port);
    const entry = (i: number, url: string) =>
      `  - campaign: STUCKTARGETCAM0${i}\n    token: stuck-token-${i}-0123456789\n    mode: db_sync\n    url: ${url}\n    api_url: ${sims[i]?.url}\n    interval: 0.3\n`;
    const healthy = [1, 2].map((i) => entry(i, `file:${join(dir, `t${i}.db`)}`)).join("");
    const head = `state: ${state.url}\nlease_seconds: 3\nfailure_wait_seconds: 0.2\nfailure_wait_max_seconds: 1\ncampaigns:\n`;
    const config = join(dir, "dbsync.yaml");
    writeFileSync(config, `${head}${entry(0, behindProxy.toString())}${healthy}`);
    const child = Bun.spawn(["bun", CLI, "run", "--config", config], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, "data"), DBSYNC_LOG_DIR: join(dir, "logs") },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    void new Response(child.stdout).text();
    const output = collectOutput(child.stderr);
    const equal = async (i: number, url: string) => (await targetDifferences(url, sims[i]?.campaign as never)).length === 0;
    try {
      expect(await until(() => equal(0, target.url), 30_000)).toBe(true);
      // Silent in the middle of its work: its next write never gets an answer.
      proxy.silence();
      sims[0]?.campaign.tick();
      await Bun.sleep(1_000);
      writeFileSync(config, `${head}${healthy}`);
      child.kill("SIGHUP");
      await output.waitFor(/removed from the file: stopping/);
      // For several lease times the others keep their leases and follow their campaigns.
      for (let round = 0; round < 3; round++) {
        for (const i of [1, 2]) sims[i]?.campaign.tick();
        for (const i of [1, 2]) expect(await until(() => equal(i, `file:${join(dir, `t${i}.db`)}`), 20_000)).toBe(true);
        await Bun.sleep(3_000);
      }
      proxy.resume();
      await output.waitFor(/STUCKTARGETCAM00 db_sync → \S+: stopped/);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    const lines = output.text().split("\n");
    for (const i of [1, 2]) {
      const own = lines.filter((line) => line.startsWith(`STUCKTARGETCAM0${i} `));
      expect(own.filter((line) => line.endsWith(": started"))).toHaveLength(1);
      expect(own.filter((line) => /run out|went to another replica|out of touch/.test(line))).toEqual([]);
    }
  });
});
