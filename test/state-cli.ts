// The command line on a state store of a server (libSQL server, PostgreSQL, MySQL/MariaDB): `dbsync
// tokens` adds, lists and revokes there through --state, with no file required to exist first and
// no password in what it prints; a sync saves its checkpoints there and `dbsync serve` reads them.
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startSimulator } from "../src/simulator/serve.ts";
import { openStateStore } from "../src/state/open.ts";
import { CLI, flatFlags, runCli, serveUrl, syncInProcess, tempDir } from "./helpers/run.ts";

export function runStateCliChecks(name: string, url: string, password?: string): void {
  test(`dbsync tokens --state on ${name}`, async () => {
    const label = `pbx-${Math.random().toString(36).slice(2, 8)}`;
    const added = await runCli(["tokens", "add", "--state", url, "--label", label]);
    expect(added.code).toBe(0);
    expect(added.stdout).toStartWith("dbs_");
    const listed = await runCli(["tokens", "list", "--state", url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(label);
    const revoked = await runCli(["tokens", "revoke", "--id", label, "--state", url]);
    expect(revoked.stdout).toBe("1 token revoked\n");
    for (const output of [added, listed, revoked]) {
      if (password) expect(`${output.stdout}${output.stderr}`).not.toContain(password);
    }
  }, 60_000);
}

/** A sync keeps its checkpoint in the server's store, and `dbsync serve` on that store is ready and shows it. */
export function runStateServeChecks(name: string, url: string): void {
  test(`dbsync sync and dbsync serve with --state on ${name}`, async () => {
    const campaign = `SRV${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
    const sim = startSimulator({ campaignId: campaign, token: "state-token", contacts: 30, seed: 15 });
    const dir = tempDir("state-serve");
    const target = `file:${join(dir, "target.db")}`;
    let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
    try {
      expect(await syncInProcess(flatFlags("db_init", campaign, "state-token", sim.url, target, url))).toBe(0);
      const store = await openStateStore(url);
      const saved = (await store.listCheckpoints()).filter((checkpoint) => checkpoint.campaign === campaign);
      await store.close();
      expect(saved.map((checkpoint) => checkpoint.mode)).toContain("db_init");
      server = Bun.spawn(["bun", CLI, "serve", "--url", target, "--state", url, "--port", "0"], {
        env: { ...process.env, DBSYNC_PHONECALLS_TOKENS: "dbs_serve_token_for_the_state_test" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const running = server;
      const base = await serveUrl(running, () => new Response(running.stderr).text());
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain(
        `dbsync_sync_last_checkpoint_timestamp_seconds{campaign="${campaign}"`,
      );
    } finally {
      server?.kill("SIGTERM");
      await server?.exited;
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
}
