// The HTTP face of `dbsync run` in process (app.request): /healthz, /readyz with its reasons, and
// /metrics read by a strict parser of the text format, fed by campaign figures as a running campaign
// feeds them; its address as the config file and --http take it.
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { RunMetrics } from "../src/campaign/metrics.ts";
import { ANSWER_WITHIN_MS, runHttpApp } from "../src/cli/run-http.ts";
import { HTTP_ADDRESS_SCHEMA } from "../src/cli/run-http-address.ts";
import type { SyncStats } from "../src/core/sync/pipeline.ts";
import { parsePrometheusText, samplesOf, total } from "./helpers/prometheus-text.ts";

const SYNC = { key: "SYNC1|db_sync|postgres://db/calls", campaign: "SYNC1", mode: "db_sync" };
const HOOK = { key: "HOOK1|webhook|", campaign: "HOOK1", mode: "webhook" };
const INIT = { key: "INIT1|db_init|file:/data/init.db", campaign: "INIT1", mode: "db_init" };
const OTHER = { key: "OTHER|db_sync|file:/data/other.db", campaign: "OTHER", mode: "db_sync" };

function face(options: { held?: string[]; contactAgoMs?: number; now?: () => number } = {}) {
  const held = new Set(options.held ?? [SYNC.key, HOOK.key, INIT.key]);
  const metrics = new RunMetrics({
    leases: () => [...held].map((key) => [key, true]),
    campaignOf: (key) => [SYNC, HOOK, INIT, OTHER].find((campaign) => campaign.key === key),
    outbox: async (campaign) => ({ pending: campaign === HOOK.campaign ? 7 : 0, deadLetters: 2 }),
  });
  const app = runHttpApp({ metrics, stateContact: () => ({ agoMs: options.contactAgoMs ?? 0, limitMs: 15_000 }), now: options.now });
  const scrape = async () => {
    const response = await app.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    return parsePrometheusText(await response.text());
  };
  return { app, metrics, held, scrape };
}

function stats(rows: SyncStats["rows"], listing?: SyncStats["listing"]): SyncStats {
  return { listed: 0, unchanged: 0, fetched: 0, vanished: 0, rows, windows: 0, listing };
}

describe("dbsync run's HTTP face", () => {
  test("/healthz answers 200", async () => {
    const { app } = face();
    expect(await (await app.request("/healthz")).json()).toEqual({ ok: true });
  });

  test("/metrics has every series of a held campaign, with its labels, and counters that move", async () => {
    const { metrics, scrape } = face();
    const sync = metrics.campaign(SYNC);
    const hook = metrics.campaign(HOOK);
    sync.apiAttempt({ endpoint: "GET /fields/list", status: 200, durationMs: 12 });
    sync.apiAttempt({ endpoint: "POST /contacts/", status: 429, durationMs: 3 });
    sync.apiRetry();
    sync.apiAttempt({ endpoint: "POST /contacts/", status: undefined, durationMs: 30_000 });
    sync.checkpoint("2026-12-03T10:00:00.000Z");
    const attempt = stats({ contacts: 5, transactions: 7 });
    sync.progress(attempt);
    hook.delivery("delivered");
    hook.delivery("dead_lettered");

    let families = await scrape();
    const labels = { campaign: "SYNC1", mode: "db_sync" };
    const [checkpoint] = samplesOf(families, "dbsync_checkpoint_timestamp_seconds", labels);
    expect(checkpoint?.value).toBe(Date.parse("2026-12-03T10:00:00.000Z") / 1000);
    expect(checkpoint?.labels.target).toMatch(/^[0-9a-f]{8}$/);
    expect(total(families, "dbsync_lag_seconds", labels)).toBeGreaterThan(0);
    expect(total(families, "dbsync_rows_written_total", { ...labels, table: "contacts" })).toBe(5);
    expect(total(families, "dbsync_rows_written_total", { ...labels, table: "transactions" })).toBe(7);
    // Started again while its lease stayed here, it counts on.
    expect(metrics.campaign(SYNC)).toBe(sync);
    expect(total(families, "dbsync_api_requests_total", { ...labels, endpoint: "GET /fields/list", status: "200" })).toBe(1);
    expect(total(families, "dbsync_api_requests_total", { ...labels, endpoint: "POST /contacts/", status: "429" })).toBe(1);
    expect(total(families, "dbsync_api_requests_total", { ...labels, endpoint: "POST /contacts/", status: "none" })).toBe(1);
    expect(total(families, "dbsync_api_throttled_total", labels)).toBe(1);
    expect(total(families, "dbsync_api_retries_total", labels)).toBe(1);
    expect(families.get("dbsync_api_request_duration_seconds")?.type).toBe("histogram");
    const duration = { ...labels, endpoint: "POST /contacts/" };
    expect(total(families, "dbsync_api_request_duration_seconds", duration, "dbsync_api_request_duration_seconds_count")).toBe(2);
    expect(total(families, "dbsync_api_request_duration_seconds", duration, "dbsync_api_request_duration_seconds_sum")).toBeCloseTo(30.003);
    const hookLabels = { campaign: "HOOK1", mode: "webhook", target: "" };
    expect(total(families, "dbsync_webhook_deliveries_total", { ...hookLabels, outcome: "delivered" })).toBe(1);
    expect(total(families, "dbsync_webhook_deliveries_total", { ...hookLabels, outcome: "dead_lettered" })).toBe(1);
    expect(total(families, "dbsync_outbox_pending", hookLabels)).toBe(7);
    expect(total(families, "dbsync_dead_letters", hookLabels)).toBe(2);
    // The outbox is the webhook's: a SQL campaign has none.
    expect(samplesOf(families, "dbsync_outbox_pending", labels)).toEqual([]);
    // Held without figures (found finished at the start): only its lease.
    expect(
      samplesOf(families, "dbsync_lease_held")
        .map((s) => s.labels.campaign)
        .sort(),
    ).toEqual(["HOOK1", "INIT1", "SYNC1"]);
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
      expect(families.has(name), name).toBe(true);
    }

    // Counters move with the same attempt's stats, and go on (never back) with the next attempt's.
    attempt.rows.contacts = 8;
    sync.progress(attempt);
    sync.progress(stats({ contacts: 2 }));
    families = await scrape();
    expect(total(families, "dbsync_rows_written_total", { ...labels, table: "contacts" })).toBe(10);
    expect(total(families, "dbsync_rows_written_total", { ...labels, table: "transactions" })).toBe(7);
    // Started again while its lease stayed here, it counts on.
    expect(metrics.campaign(SYNC)).toBe(sync);
  });

  test("a campaign whose lease this replica no longer holds is exported no more", async () => {
    const { metrics, held, scrape } = face();
    const sync = metrics.campaign(SYNC);
    sync.apiAttempt({ endpoint: "GET /fields/list", status: 200, durationMs: 5 });
    sync.progress(stats({ contacts: 3 }));
    expect(samplesOf(await scrape(), "dbsync_api_requests_total", { campaign: "SYNC1" })).toHaveLength(1);
    held.delete(SYNC.key);
    // Still running for a moment (stopping), it counts into nothing.
    sync.progress(stats({ contacts: 9 }));
    const families = await scrape();
    for (const family of families.values()) {
      expect(
        family.samples.filter((s) => s.labels.campaign === "SYNC1"),
        family.name,
      ).toEqual([]);
    }
  });

  test("lag: the checkpoint's age while polling, the time since the last move while listing or waiting, 0 once finished", async () => {
    const { metrics } = face();
    const init = metrics.campaign(INIT);
    const started = Date.now();
    init.waitingToList(true);
    expect(init.lagSeconds(started + 3_600_000)).toBe(0);
    init.waitingToList(false);
    init.progress(stats({}, { listed: 1000, done: 0, complete: false }));
    init.progress(stats({ contacts: 500 }, { listed: 1000, done: 500, complete: false }));
    const moved = Date.now();
    // An hour-long db_init that moves does not lag; one that stalls does, from its last move.
    expect(init.lagSeconds(moved + 2000)).toBeCloseTo(2, 0);
    init.state("finished");
    expect(init.lagSeconds(moved + 3_600_000)).toBe(0);

    const sync = metrics.campaign(SYNC);
    sync.checkpoint(new Date(started - 90_000).toISOString());
    expect(sync.lagSeconds(started)).toBe(90);
  });

  test("/readyz: 200 when the state store and every campaign answer, 503 with the reasons otherwise", async () => {
    expect((await face().app.request("/readyz")).status).toBe(200);

    const stale = await face({ contactAgoMs: 20_000 }).app.request("/readyz");
    expect(stale.status).toBe(503);
    expect(await stale.json()).toEqual({ ok: false, error: "the lease rounds have not reached the state store for 20 s" });

    const later = Date.now() + ANSWER_WITHIN_MS + 5000;
    const { metrics, app } = face({ now: () => later });
    const sync = metrics.campaign(SYNC);
    const hook = metrics.campaign(HOOK);
    sync.apiAttempt({ endpoint: "GET /contacts/transactions/", status: 503, durationMs: 40 });
    sync.target(false, "connection refused to postgres://db");
    hook.target(false);
    const failing = await app.request("/readyz");
    expect(failing.status).toBe(503);
    const { error } = (await failing.json()) as { error: string };
    expect(error).toMatch(/^SYNC1 db_sync \(target [0-9a-f]{8}\): the Dialfire API has not answered for 6\d s \(last: HTTP 503\); /);
    expect(error).toContain("the target database has not answered");
    expect(error).toContain("HOOK1 webhook: the webhook receiver has not answered");
    // An answer, even a refusal, ends it.
    sync.apiAttempt({ endpoint: "GET /fields/list", status: 403, durationMs: 4 });
    sync.target(true);
    hook.target(true);
    expect((await app.request("/readyz")).status).toBe(200);
  });

  test("the address: HOST:PORT, IPv6 in brackets, port 0 for any; anything else is one line naming --http", () => {
    const parse = (text: string) => v.safeParse(HTTP_ADDRESS_SCHEMA, text);
    expect(parse("127.0.0.1:9464").output).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parse(" [::1]:0 ").output).toEqual({ host: "::1", port: 0 });
    expect(parse("localhost:80").output).toEqual({ host: "localhost", port: 80 });
    for (const bad of ["9464", "127.0.0.1", "127.0.0.1:65536", "::1:9464", "host:port", "http://h:1"]) {
      const result = parse(bad);
      expect(result.success, bad).toBe(false);
      expect(result.issues?.[0]?.message).toBe(
        `--http must be HOST:PORT, like 127.0.0.1:9464 or [::1]:9464, with a port up to 65535 (not "${bad}")`,
      );
    }
  });
});

describe("the strict text-format parser of these tests", () => {
  test("reads what the format allows and refuses the rest, naming the line", () => {
    const good = [
      "# HELP a_total A \\\\ counter.",
      "# TYPE a_total counter",
      'a_total{x="1\\"2",y="\\n"} 3',
      "# TYPE h histogram",
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      "h_sum 1.5e0",
      "h_count 2",
      "# TYPE g gauge",
      "g Nan",
      "",
    ].join("\n");
    const families = parsePrometheusText(good);
    expect(families.get("a_total")?.help).toBe("A \\ counter.");
    expect(families.get("a_total")?.samples[0]?.labels).toEqual({ x: '1"2', y: "\n" });
    expect(families.get("g")?.samples[0]?.value).toBeNaN();
    for (const [text, problem] of [
      ["# TYPE a counter\na 1", "does not end with a line feed"],
      ["# TYPE a counter\n# TYPE b gauge\nb 1\na 2\n", "a sample outside its family"],
      ["# TYPE a counter\na 1\n# TYPE b gauge\n# TYPE a counter\n", "the family appears twice"],
      ['# TYPE a gauge\na{x="\\t"} 1\n', "a bad escape"],
      ["# TYPE a gauge\na{x=1} 1\n", 'a label without ="'],
      ["# TYPE a gauge\na one\n", "not a number"],
      ["# TYPE a counter\na -1\n", "a counter below 0"],
      ["# TYPE a gauge\na 1\na 2\n", "appears twice"],
      ['# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n', "buckets not rising"],
      ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', "the +Inf bucket differs from _count"],
    ] as const) {
      expect(() => parsePrometheusText(text), text).toThrow(problem);
    }
  });
});
