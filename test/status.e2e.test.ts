// `dbsync status --config FILE` as a real process over a real state store: what a replica reported
// (owner, state, failure in words, checkpoint, rows in the last hour, outbox) per campaign of the
// file, in a table or as JSON; the replicas with their heartbeats; and its mistakes in one line.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { campaignsHash } from "../src/campaign/lease-keeper.ts";
import { openDialect } from "../src/dialects/index.ts";
import { openStateStore } from "../src/state/open.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { runCli, tempDir } from "./helpers/run.ts";

const dir = tempDir("status");
const config = join(dir, "dbsync.yaml");
const SYNCED = "STATUSCAMPAIGN01";
const FAILING = "STATUSCAMPAIGN02";
const NEVER = "STATUSCAMPAIGN03";
const keyOf = (campaign: string) => `${campaign}|db_sync|file:${dir}/${campaign}.db`;

beforeAll(async () => {
  const campaign = (id: string) => `  - campaign: ${id}\n    token: secret-token-of-${id}\n    mode: db_sync\n    url: file:${id}.db\n`;
  writeFileSync(config, `state: file:state.db\nlease_seconds: 30\ncampaigns:\n${campaign(SYNCED)}${campaign(FAILING)}${campaign(NEVER)}`);
  const store = await openStateStore(`file:${join(dir, "state.db")}`);
  try {
    await store.leases.heartbeat({ id: "host-1-a", host: "host", pid: 1, campaigns: campaignsHash([SYNCED, FAILING, NEVER].map(keyOf)) });
    await store.leases.heartbeat({ id: "host-2-b", host: "other", pid: 2, campaigns: "another file" });
    const now = Date.now();
    for (const [id, state, lastError] of [
      [SYNCED, "running", null],
      [FAILING, "backing_off", "the API refused the token (401): check token"],
    ] as const) {
      const lease = await store.leases.acquire(keyOf(id), "host-1-a", 30_000);
      if (!lease) throw new Error("no lease");
      await store.status.report({
        name: keyOf(id),
        campaign: id,
        mode: "db_sync",
        owner: "host-1-a",
        state,
        lastError,
        settings: null,
        since: now,
        updatedAt: now,
      });
    }
    await store.status.addRows(keyOf(SYNCED), Math.floor(now / 60_000) * 60_000, 1234);
    await store.setCheckpoint(
      { campaign: SYNCED, mode: "db_sync", target: `file:${dir}/${SYNCED}.db|` },
      new Date(now - 90_000).toISOString(),
    );
  } finally {
    await store.close();
  }
});

describe("dbsync status", () => {
  test("a table of the file's campaigns as their owners reported them, then the replicas", async () => {
    const { code, stdout, stderr } = await runCli(["status", "--config", config]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const line = (id: string) => stdout.split("\n").find((l) => l.startsWith(id)) ?? "";
    expect(line(SYNCED)).toMatch(/^STATUSCAMPAIGN01\s+db_sync\s+running\s+host-1-a\s+\S+Z\s+(89|90|91) s\s+1234\s+-\s+-$/);
    expect(line(FAILING)).toMatch(/db_sync\s+backing off\s+host-1-a\s+-\s+-\s+0/);
    expect(line(NEVER)).toMatch(/db_sync\s+waiting\s+-\s+-\s+-\s+0/);
    expect(stdout).toContain(`${FAILING} db_sync: the API refused the token (401): check token`);
    expect(stdout).toMatch(/REPLICAS\nhost-1-a\s+live\s+heartbeat \d+ s ago\s+2 campaigns\s*\n/);
    expect(stdout).toMatch(
      /host-2-b\s+live\s+heartbeat \d+ s ago\s+0 campaigns\s+another config file: shares with none of this file's replicas/,
    );
    expect(stdout).not.toContain("secret-token");
  });

  test("--json: the same for scripts", async () => {
    const { code, stdout } = await runCli(["status", "--config", config, "--json"]);
    expect(code).toBe(0);
    const overview = JSON.parse(stdout);
    expect(
      overview.campaigns.map((c: { campaign: string; state: string; owner: string | null }) => [c.campaign, c.state, c.owner]),
    ).toEqual([
      [SYNCED, "running", "host-1-a"],
      [FAILING, "backing_off", "host-1-a"],
      [NEVER, "waiting", null],
    ]);
    expect(overview.campaigns[0].rowsLastHour).toBe(1234);
    expect(overview.campaigns[0].lagSeconds).toBeGreaterThanOrEqual(89);
    expect(overview.replicas).toHaveLength(2);
    expect(overview.replicas[0]).toMatchObject({ id: "host-1-a", live: true, campaigns: 2, sameFile: true });
    expect(overview.replicas[1]).toMatchObject({ id: "host-2-b", sameFile: false });
  });

  test("mistakes: no --config, a file with an error, a state store not made yet; one line each, exit 2", async () => {
    const missing = await runCli(["status"]);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, "error: the config file (--config) is required"]);
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "campaigns: []\n");
    const invalid = await runCli(["status", "--config", broken]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("campaigns: must be a list of at least one campaign");
    const fresh = join(dir, "fresh.yaml");
    writeFileSync(fresh, `state: file:nothing-yet.db\ncampaigns:\n  - campaign: X\n    token: t\n    mode: db_sync\n`);
    const none = await runCli(["status", "--config", fresh]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(`error: no state store at ${join(dir, "nothing-yet.db")} yet: dbsync run has not run with ${fresh}`);
    for (const result of [missing, invalid, none]) expect(result.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });

  test("it only reads: on a database without the state tables it says so and creates none", async () => {
    const empty = await freshDatabase("postgres");
    try {
      const file = join(dir, "empty-state.yaml");
      writeFileSync(file, `state: ${empty.url}\ncampaigns:\n  - campaign: X\n    token: t\n    mode: db_sync\n`);
      const result = await runCli(["status", "--config", file]);
      expect(result.code).toBe(1);
      expect(result.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(result.stderr).toContain("cannot read");
      const dialect = await openDialect(empty.url);
      try {
        const [row] = await dialect.all<{ n: unknown }>(
          "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()",
        );
        expect(Number(row?.n)).toBe(0);
      } finally {
        await dialect.close();
      }
    } finally {
      await empty.drop();
    }
  });
});
