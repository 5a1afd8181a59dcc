// `dbsync run` as a real process: several campaigns from one config file over one libSQL state store,
// each against its own simulator over HTTP, ending equal to it; a campaign with a wrong token backs off
// and is retried next to them; SIGHUP starts a campaign added to the file and leaves the others alone;
// SIGTERM stops everything with exit 0.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStateStore } from "../src/state/open.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { describe as describeDiff, targetDifferences, until } from "./helpers/compare.ts";
import { type FreshDatabase, freshDatabase } from "./helpers/databases.ts";
import { deliveryProblems, expectedTransactions, summarise } from "./helpers/deliveries.ts";
import { type Receiver, startReceiver } from "./helpers/receiver.ts";
import { CLI, collectOutput as collect, tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

const INIT = { id: "RUNINITCAMPAIGN1", token: "run-init-token-0123456789" };
const SYNC = { id: "RUNSYNCCAMPAIGN1", token: "run-sync-token-0123456789" };
const ADDED = { id: "RUNADDEDCAMPAIG1", token: "run-added-token-0123456789" };
const WRONG_TOKEN = "run-wrong-token-0123456789";
const SECRET = `whsec_${Buffer.from("a test secret of 32 bytes length").toString("base64")}`;

function campaignYaml(campaign: { id: string; token: string }, mode: string, url: string, apiUrl: string): string {
  return `  - campaign: ${campaign.id}
    token: ${campaign.token}
    mode: ${mode}
    url: ${url}
    api_url: ${apiUrl}
    interval: 0.3
    workers: 8
    api_retries: 2
`;
}

describe("dbsync run with several campaigns", () => {
  const dir = tempDir("run");
  let simInit: RunningSimulator;
  let simSync: RunningSimulator;
  let simAdded: RunningSimulator;
  let postgres: FreshDatabase;
  let mariadb: FreshDatabase;
  let receiver: Receiver;

  beforeAll(async () => {
    simInit = startSimulator({ campaignId: INIT.id, token: INIT.token, contacts: 200, seed: 51 });
    simSync = startSimulator({ campaignId: SYNC.id, token: SYNC.token, contacts: 150, seed: 53 });
    simAdded = startSimulator({ campaignId: ADDED.id, token: ADDED.token, contacts: 120, seed: 57 });
    [postgres, mariadb] = await Promise.all([freshDatabase("postgres"), freshDatabase("mysql")]);
    receiver = startReceiver({ secret: SECRET });
  });
  afterAll(async () => {
    await Promise.all([simInit.stop(), simSync.stop(), simAdded.stop(), receiver.stop()]);
    await Promise.all([postgres?.drop(), mariadb?.drop()]);
  });

  test("each ends equal to its simulator or receiver, a wrong token backs off alone, SIGHUP adds, SIGTERM ends with 0", async () => {
    const config = join(dir, "dbsync.yaml");
    writeFileSync(
      config,
      `state: file:state.db
failure_wait_seconds: 0.2
failure_wait_max_seconds: 1
campaigns:
${campaignYaml(INIT, "db_init", "file:init.db", simInit.url)}${campaignYaml(SYNC, "db_sync", postgres.url, simSync.url)}${campaignYaml(
  { id: SYNC.id, token: "$" + "{WRONG_TOKEN}" },
  "db_sync",
  "file:wrong.db",
  simSync.url,
)}${campaignYaml(INIT, "webhook", receiver.url, simInit.url)}    start: 2000-01-01
    webhook_secret: $` +
        `{WEBHOOK_SECRET}
    retry_wait: 0.1
    webhook_rate: 2000
`,
    );
    const logs = join(dir, "logs");
    const child = Bun.spawn(["bun", CLI, "run", "--config", config], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        DBSYNC_DATA_DIR: join(dir, "data"),
        DBSYNC_LOG_DIR: logs,
        WRONG_TOKEN,
        WEBHOOK_SECRET: SECRET,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const console = collect(child.stderr);
    void new Response(child.stdout).text();
    try {
      // The db_init finishes once and equals its campaign.
      await console.waitFor(new RegExp(`${INIT.id} db_init → \\S+: finished`));
      expect(describeDiff(await targetDifferences(`file:${dir}/init.db`, simInit.campaign))).toBe("");
      // The webhook campaign delivers the whole history, signed.
      const expected = expectedTransactions(simInit.campaign, new Date("2000-01-01"));
      await until(async () => deliveryProblems(expected, receiver.requests).length === 0, 20_000);
      expect(summarise(deliveryProblems(expected, receiver.requests))).toBe("");
      // The db_sync follows its campaign, also after new activity.
      simSync.campaign.tick();
      const syncEqual = () => targetDifferences(postgres.url, simSync.campaign).then((d) => d.length === 0);
      expect(await until(syncEqual, 20_000)).toBe(true);
      // The wrong token is refused, logged as backing off, and tried again.
      await console.waitFor(new RegExp(`${SYNC.id} db_sync → file:\\S*wrong.db: failed \\(2 in a row\\): .*retrying in`));

      // A campaign added to the file starts on SIGHUP; the others are not restarted.
      appendFileSync(config, campaignYaml(ADDED, "db_init", mariadb.url, simAdded.url));
      child.kill("SIGHUP");
      await console.waitFor(/applied: 1 added, 0 removed, 0 restarted, 4 unchanged/);
      await console.waitFor(new RegExp(`${ADDED.id} db_init → \\S+: finished`));
      expect(describeDiff(await targetDifferences(mariadb.url, simAdded.campaign))).toBe("");
      simSync.campaign.tick();
      expect(await until(syncEqual, 20_000)).toBe(true);
      expect(describeDiff(await targetDifferences(postgres.url, simSync.campaign))).toBe("");

      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    const text = console.text();
    const starts = (id: string, mode: string) =>
      text.split("\n").filter((line) => line.startsWith(`${id} ${mode}`) && line.endsWith(": started"));
    expect(starts(INIT.id, "db_init")).toHaveLength(1);
    expect(starts(SYNC.id, "db_sync")).toHaveLength(2); // the healthy one and the one with the wrong token, once each
    expect(starts(ADDED.id, "db_init")).toHaveLength(1);
    expect(starts(INIT.id, "webhook")).toHaveLength(1);
    // ("dbsync" itself is masked here: it is the test databases' password.)
    expect(text).toContain("run: every campaign stopped");
    expect(text).not.toContain(WRONG_TOKEN);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/^\s+at /m);

    // One log file per campaign, named as sync names them; the failures are in the failing one's.
    const files = readdirSync(logs).sort();
    expect(files.map((name) => name.replace(/_\d{14}(_\d+)?\.log$/, ""))).toEqual(
      [`${ADDED.id}_db_init`, `${INIT.id}_db_init`, `${INIT.id}_webhook`, `${SYNC.id}_db_sync`, `${SYNC.id}_db_sync`].sort(),
    );
    const syncLogs = files.filter((name) => name.startsWith(`${SYNC.id}_db_sync`)).map((name) => readFileSync(join(logs, name), "utf8"));
    expect(syncLogs.filter((log) => /failed \(1 in a row\)/.test(log))).toHaveLength(1);
    expect(syncLogs.join("\n")).not.toContain(WRONG_TOKEN);

    // One state store holds the checkpoints of every campaign.
    const state = await openStateStore(`file:${dir}/state.db`);
    try {
      const campaigns = new Set((await state.listCheckpoints()).map((checkpoint) => `${checkpoint.campaign} ${checkpoint.mode}`));
      expect([...campaigns].sort()).toEqual(
        [`${ADDED.id} db_init`, `${INIT.id} db_init`, `${INIT.id} webhook`, `${INIT.id} webhook-origin`, `${SYNC.id} db_sync`].sort(),
      );
    } finally {
      await state.close();
    }
  });

  /** `dbsync run` on the file, its console read as it comes, its log files in a folder of its own. */
  function startRun(config: string, logs: string) {
    const child = Bun.spawn(["bun", CLI, "run", "--config", config], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, "data"), DBSYNC_LOG_DIR: join(dir, logs) },
      stdout: "pipe",
      stderr: "pipe",
    });
    void new Response(child.stdout).text();
    return { child, console: collect(child.stderr) };
  }

  /** Whether the libSQL file `name` holds the sync campaign as it is now. */
  const equal = (name: string) => () => targetDifferences(`file:${dir}/${name}.db`, simSync.campaign).then((d) => d.length === 0);

  test("SIGHUP: a file that no longer validates keeps the running set; a changed campaign restarts, a removed one stops", async () => {
    const config = join(dir, "reload.yaml");
    const syncInto = (name: string, interval: string) =>
      campaignYaml(SYNC, "db_sync", `file:${name}.db`, simSync.url).replace("interval: 0.3", `interval: ${interval}`);
    const both = `state: file:reload-state.db\ncampaigns:\n${syncInto("kept", "0.3")}${syncInto("removed", "0.3")}`;
    writeFileSync(config, both);
    const { child, console } = startRun(config, "reload-logs");
    try {
      expect(await until(equal("kept"), 20_000)).toBe(true);
      expect(await until(equal("removed"), 20_000)).toBe(true);

      writeFileSync(config, both.replace("interval: 0.3", "intervall: 0.3"));
      child.kill("SIGHUP");
      await console.waitFor(
        /reload\.yaml: campaign 1 \(RUNSYNCCAMPAIGN1\): unknown key "intervall" .*; the running campaigns are kept as they are/,
      );

      writeFileSync(config, `state: file:reload-state.db\ncampaigns:\n${syncInto("kept", "0.4")}`);
      child.kill("SIGHUP");
      await console.waitFor(/applied: 0 added, 1 removed, 1 restarted, 0 unchanged/);
      await console.waitFor(/removed\.db: stopped/);
      simSync.campaign.tick();
      expect(await until(equal("kept"), 20_000)).toBe(true);

      child.kill("SIGINT");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    const lines = console.text().split("\n");
    expect(lines.filter((line) => /kept\.db: started$/.test(line))).toHaveLength(2);
    expect(lines.filter((line) => /removed\.db: started$/.test(line))).toHaveLength(1);
    expect(lines.some((line) => /kept\.db: changed in the file: restarting$/.test(line))).toBe(true);
    expect(lines.some((line) => /removed\.db: removed from the file: stopping$/.test(line))).toBe(true);
  });

  test("a change of the file is applied at the next round without SIGHUP", async () => {
    const config = join(dir, "watched.yaml");
    const into = (name: string) => campaignYaml(SYNC, "db_sync", `file:${name}.db`, simSync.url);
    // Short leases: a round every second.
    const head = "state: file:watched-state.db\nlease_seconds: 3\ncampaigns:\n";
    writeFileSync(config, `${head}${into("first")}`);
    const { child, console } = startRun(config, "watched-logs");
    try {
      expect(await until(equal("first"), 20_000)).toBe(true);
      writeFileSync(config, `${head}${into("first")}${into("second")}`);
      await console.waitFor(/the file changed: reading \S+watched\.yaml again/);
      await console.waitFor(/applied: 1 added, 0 removed, 0 restarted, 1 unchanged/);
      expect(await until(equal("second"), 20_000)).toBe(true);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    // Read once per change, not once per round.
    expect(console.text().match(/the file changed/g)).toHaveLength(1);
  });
});
