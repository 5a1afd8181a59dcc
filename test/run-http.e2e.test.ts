// `dbsync run` serving its HTTP face as a real process: a db_sync and a webhook campaign against a
// simulator (which answers some requests 429) and a receiver (which fails some deliveries), the
// state store on PostgreSQL behind a proxy that can fall silent. /metrics, read by a strict parser,
// has every series with its labels and its counters move as the sync writes; /readyz is 503 with
// its reason while the state store is silent and 200 before and after. Two replicas sharing two
// campaigns each export only the one they hold. A bad address is one line.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { targetDifferences, until } from "./helpers/compare.ts";
import { type FreshDatabase, freshDatabase } from "./helpers/databases.ts";
import { type Family, parsePrometheusText, samplesOf, total } from "./helpers/prometheus-text.ts";
import { type Receiver, startReceiver } from "./helpers/receiver.ts";
import { CLI, collectOutput, tempDir } from "./helpers/run.ts";
import { type SilentProxy, startSilentProxy } from "./helpers/silent-proxy.ts";

setDefaultTimeout(120_000);

const CAMPAIGN = { id: "HTTPFACECAMPAIGN", token: "http-face-token-0123456789" };
const ADMIN_TOKEN = "http-face-admin-token-0123456789";

describe("dbsync run's /healthz, /readyz and /metrics", () => {
  const dir = tempDir("run-http");
  let simulator: RunningSimulator;
  let receiver: Receiver;
  let state: FreshDatabase;
  let proxy: SilentProxy;

  beforeAll(async () => {
    simulator = startSimulator({ campaignId: CAMPAIGN.id, token: CAMPAIGN.token, contacts: 120, seed: 71 });
    receiver = startReceiver({ behaviour: { failRate: 0.3 } });
    state = await freshDatabase("postgres");
    proxy = startSilentProxy(Number(new URL(state.url).port || 5432));
  });
  afterAll(async () => {
    proxy?.stop();
    await Promise.all([simulator?.stop(), receiver?.stop()]);
    await state?.drop();
  });

  function spawnRun(args: string[]) {
    const child = Bun.spawn(["bun", CLI, "run", ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        DBSYNC_DATA_DIR: join(dir, "data"),
        DBSYNC_LOG_DIR: join(dir, "logs"),
        DBSYNC_ADMIN_TOKEN: ADMIN_TOKEN,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    void new Response(child.stdout).text();
    return { child, console: collectOutput(child.stderr) };
  }

  test("every series with its labels, counters that move, and readiness that follows the state store", async () => {
    const stateUrl = new URL(state.url);
    stateUrl.port = String(proxy.port);
    const config = join(dir, "dbsync.yaml");
    writeFileSync(
      config,
      `state: ${stateUrl}
lease_seconds: 10
http: 127.0.0.1:0
campaigns:
  - campaign: ${CAMPAIGN.id}
    token: ${CAMPAIGN.token}
    mode: db_sync
    url: file:sync.db
    api_url: ${simulator.url}
    interval: 0.3
    api_retries: 8
  - campaign: ${CAMPAIGN.id}
    token: ${CAMPAIGN.token}
    mode: webhook
    url: ${receiver.url}
    api_url: ${simulator.url}
    interval: 0.3
    start: 2000-01-01
    retries: 2
    retry_wait: 0.05
    webhook_rate: 2000
`,
    );
    const { child, console } = spawnRun(["--config", config]);
    try {
      await console.waitFor(/\/healthz, \/readyz and \/metrics on http:\/\/127\.0\.0\.1:\d+/);
      const base = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(console.text())?.[1] as string;
      const scrape = async () => {
        const response = await fetch(`${base}/metrics`);
        expect(response.status).toBe(200);
        return parsePrometheusText(await response.text());
      };
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
      // The operator's API is behind the admin token.
      expect((await fetch(`${base}/api/status`)).status).toBe(401);
      const api = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(api.status).toBe(200);
      expect(((await api.json()) as { campaigns: { campaign: string }[] }).campaigns.map((c) => c.campaign)).toContain(CAMPAIGN.id);

      const synced = () => targetDifferences(`file:${dir}/sync.db`, simulator.campaign).then((d) => d.length === 0);
      expect(await until(synced, 30_000)).toBe(true);
      const sync = { campaign: CAMPAIGN.id, mode: "db_sync" };
      const hook = { campaign: CAMPAIGN.id, mode: "webhook", target: "" };
      // Some deliveries fail for good (30% fail, two attempts each).
      let families: Map<string, Family> = new Map();
      const dead = async () => {
        families = await scrape();
        return total(families, "dbsync_webhook_deliveries_total", { ...hook, outcome: "dead_lettered" }) > 0;
      };
      expect(await until(dead, 30_000)).toBe(true);

      // The API answers 429 for a while: counted, and tried again.
      simulator.faults.rateLimitRate = 0.5;
      simulator.faults.retryAfterSeconds = 0;
      const throttled = async () => total(await scrape(), "dbsync_api_throttled_total", sync) > 0;
      expect(await until(throttled, 30_000)).toBe(true);
      simulator.faults.rateLimitRate = 0;

      families = await scrape();
      const rowsBefore = total(families, "dbsync_rows_written_total", sync);
      expect(rowsBefore).toBeGreaterThan(0);
      const [checkpoint] = samplesOf(families, "dbsync_checkpoint_timestamp_seconds", sync);
      expect(checkpoint?.labels.target).toMatch(/^[0-9a-f]{8}$/);
      const labels = { ...sync, target: checkpoint?.labels.target as string };
      expect(Math.abs((checkpoint?.value ?? 0) - Date.now() / 1000)).toBeLessThan(30);
      for (const [name, campaign] of [
        ["dbsync_checkpoint_timestamp_seconds", labels],
        ["dbsync_lag_seconds", labels],
        ["dbsync_lease_held", labels],
        ["dbsync_lease_held", hook],
        ["dbsync_outbox_pending", hook],
        ["dbsync_dead_letters", hook],
        ["dbsync_checkpoint_timestamp_seconds", hook],
      ] as const) {
        expect(samplesOf(families, name, campaign), `${name} ${JSON.stringify(campaign)}`).toHaveLength(1);
      }
      expect(families.get("dbsync_lag_seconds")?.type).toBe("gauge");
      expect(total(families, "dbsync_lag_seconds", labels)).toBeLessThan(30);
      // 1 once renewed in time (0 for a moment when a round is late: the state store is busy here).
      const renewed = async () => total(await scrape(), "dbsync_lease_held", labels) === 1;
      expect(await until(renewed, 10_000)).toBe(true);
      expect(total(families, "dbsync_dead_letters", hook)).toBeGreaterThan(0);
      for (const table of ["contacts", "transactions"]) {
        expect(total(families, "dbsync_rows_written_total", { ...labels, table }), table).toBeGreaterThan(0);
      }
      const endpoints = new Set(samplesOf(families, "dbsync_api_requests_total", labels).map((s) => s.labels.endpoint));
      expect([...endpoints].sort()).toEqual(
        ["GET /contacts/list", "GET /contacts/transactions/", "GET /fields/list", "GET /inbound/calls/", "POST /contacts/"].sort(),
      );
      expect(total(families, "dbsync_api_requests_total", { ...labels, status: "200" })).toBeGreaterThan(0);
      expect(total(families, "dbsync_api_requests_total", { ...labels, status: "429" })).toBe(
        total(families, "dbsync_api_throttled_total", labels),
      );
      expect(total(families, "dbsync_api_retries_total", labels)).toBeGreaterThan(0);
      expect(families.get("dbsync_api_request_duration_seconds")?.type).toBe("histogram");
      const durations = samplesOf(families, "dbsync_api_request_duration_seconds", { ...labels, endpoint: "POST /contacts/" });
      expect(durations.filter((s) => s.name.endsWith("_count"))[0]?.value).toBeGreaterThan(0);
      for (const outcome of ["delivered", "failed", "dead_lettered"]) {
        expect(total(families, "dbsync_webhook_deliveries_total", { ...hook, outcome }), outcome).toBeGreaterThan(0);
      }
      for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
        expect(families.has(name), name).toBe(true);
      }

      // New activity: the rows counter moves with what the sync writes.
      simulator.campaign.tick();
      expect(await until(synced, 30_000)).toBe(true);
      const moved = async () => total(await scrape(), "dbsync_rows_written_total", sync) > rowsBefore;
      expect(await until(moved, 10_000), console.text()).toBe(true);

      // Ready; the state store falls silent: not ready, with the reason; it speaks again: ready.
      const ready = async () => {
        const response = await fetch(`${base}/readyz`);
        return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string } };
      };
      expect(await until(async () => (await ready()).status === 200, 10_000)).toBe(true);
      proxy.silence();
      expect(await until(async () => (await ready()).status === 503, 15_000)).toBe(true);
      expect((await ready()).body).toEqual({
        ok: false,
        error: expect.stringMatching(/^the lease rounds have not reached the state store for \d+ s$/),
      });
      proxy.resume();
      expect(await until(async () => (await ready()).status === 200, 15_000)).toBe(true);

      // Paused by the operator: its owner stops it and says so; resumed, it starts again.
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
      const act = (action: string) =>
        fetch(`${base}/api/campaigns/${action}`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ campaign: CAMPAIGN.id, mode: "db_sync" }),
        });
      const syncState = async () => {
        const overview = (await (await fetch(`${base}/api/status`, { headers: auth })).json()) as {
          campaigns: { mode: string; state: string }[];
        };
        return overview.campaigns.find((c) => c.mode === "db_sync")?.state;
      };
      expect(await (await act("pause")).json()).toEqual({ paused: 1 });
      await console.waitFor(/db_sync → \S+: paused by the operator: stopping/);
      expect(await until(async () => (await syncState()) === "paused", 15_000)).toBe(true);
      expect(await (await act("resume")).json()).toEqual({ resumed: 1 });
      expect(await until(async () => (await syncState()) === "running", 15_000)).toBe(true);
      expect(console.text().match(/db_sync → \S+: started/g)).toHaveLength(2);

      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("two replicas: each exports the campaign it holds and nothing of the other's", async () => {
    const shared = await freshDatabase("postgres");
    const config = join(dir, "replicas.yaml");
    const campaign = (name: string) =>
      `  - campaign: ${CAMPAIGN.id}\n    token: ${CAMPAIGN.token}\n    mode: db_sync\n    url: file:${name}.db\n` +
      `    api_url: ${simulator.url}\n    interval: 0.5\n`;
    writeFileSync(config, `state: ${shared.url}\nlease_seconds: 3\nhttp: 127.0.0.1:0\ncampaigns:\n${campaign("one")}${campaign("two")}`);
    const replicas = [spawnRun(["--config", config]), spawnRun(["--config", config])];
    try {
      const bases = await Promise.all(
        replicas.map(async ({ console }) => {
          await console.waitFor(/\/metrics on http:\/\/\S+/);
          return /\/metrics on (http:\/\/\S+)/.exec(console.text())?.[1] as string;
        }),
      );
      /** The targets of the campaigns whose series each replica exports. */
      const exported = () =>
        Promise.all(
          bases.map(async (base) => {
            const families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
            const targets = new Set<string>();
            for (const family of families.values())
              for (const sample of family.samples) if (sample.labels.target) targets.add(sample.labels.target);
            return [...targets];
          }),
        );
      const split = async () => {
        const [first = [], second = []] = await exported();
        return first.length === 1 && second.length === 1 && first[0] !== second[0];
      };
      expect(await until(split, 30_000)).toBe(true);
      for (const { child } of replicas) child.kill("SIGTERM");
      expect(await Promise.all(replicas.map(({ child }) => child.exited))).toEqual([0, 0]);
    } finally {
      for (const { child } of replicas) child.kill("SIGKILL");
      await shared.drop();
    }
  });

  test("a bad address in the file or the flag is one line and exit 2", async () => {
    const config = join(dir, "bad.yaml");
    const campaign = `campaigns:\n  - campaign: ${CAMPAIGN.id}\n    token: ${CAMPAIGN.token}\n    mode: db_init\n    api_url: ${simulator.url}\n`;
    for (const [file, args, message] of [
      [
        `http: 9464\n${campaign}`,
        [],
        `${config}: http must be HOST:PORT, like 127.0.0.1:9464 or [::1]:9464, with a port up to 65535 (not "9464")`,
      ],
      [
        campaign,
        ["--http", "localhost:99999"],
        `--http must be HOST:PORT, like 127.0.0.1:9464 or [::1]:9464, with a port up to 65535 (not "localhost:99999")`,
      ],
    ] as const) {
      writeFileSync(config, file);
      const { child, console } = spawnRun(["--config", config, ...args]);
      expect(await child.exited).toBe(2);
      const lines = console.text().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
    }
  });
});
