// The operator's JSON API of `dbsync run` in-process (app.request) over a real libSQL state store:
// nothing without the admin token (and nothing at all without one configured), the fleet's overview,
// and dead letters put back in line by id or by campaign.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { StateStore } from "../src/core/state/state.ts";
import type { OutboxCandidate } from "../src/core/webhook/outbox.ts";
import { NO_ADMIN_TOKEN, WRONG_ADMIN_TOKEN } from "../src/server/admin-token.ts";
import { fleetApi } from "../src/server/fleet-api.ts";
import { openStateStore } from "../src/state/open.ts";
import { tempDir } from "./helpers/run.ts";

const TOKEN = "admin-token-for-the-test-0123456789";
const CAMPAIGN = "FLEETAPICAMPAIGN";
const CAMPAIGNS = [
  { key: `${CAMPAIGN}|db_sync|file:/a.db`, campaign: CAMPAIGN, mode: "db_sync" },
  { key: `${CAMPAIGN}|webhook|`, campaign: CAMPAIGN, mode: "webhook" },
];
const options = { url: "https://receiver.example/hook", floor: "2026-03-01T00:00:00.000Z", signed: false };
const candidate = (transactionId: string, contactId: string): OutboxCandidate => ({
  contactId,
  transactionId,
  hash: `h-${transactionId}`,
  history: false,
  body: (state) => JSON.stringify({ transactionId, state }),
});

describe("the operator's API of dbsync run", () => {
  let store: StateStore;
  const overview = { campaigns: [{ campaign: CAMPAIGN, state: "running" }], replicas: [] };
  const app = (adminToken: string | undefined) =>
    fleetApi({ overview: async () => overview, outbox: store.outbox, pauses: store.status, campaigns: () => CAMPAIGNS, adminToken });
  const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    app(TOKEN).request(path, { headers });
  const post = (path: string, body: unknown, token = TOKEN) =>
    app(TOKEN).request(path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    store = await openStateStore(`file:${join(tempDir("fleet-api"), "state.db")}`);
  });
  afterAll(() => store.close());

  test("without a configured admin token everything is refused, also with a token", async () => {
    const response = await app(undefined).request("/status", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: NO_ADMIN_TOKEN });
    expect((await app("").request("/status")).status).toBe(403);
  });

  test("a missing or wrong token, or one in the query, is refused with 401", async () => {
    const tries: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
    ];
    for (const headers of tries) {
      const response = await get("/status", headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
      expect(await response.json()).toEqual({ error: WRONG_ADMIN_TOKEN });
    }
    expect((await get(`/status?token=${TOKEN}`, {})).status).toBe(401);
  });

  test("the overview, as dbsync status --json prints it", async () => {
    const response = await get("/status");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(overview);
  });

  test("dead letters go back in line by id or by campaign; the answer counts them", async () => {
    await store.outbox.enqueue({ campaign: CAMPAIGN }, [candidate("t1", "c1"), candidate("t2", "c2"), candidate("t3", "c3")], [], options);
    for (const entry of await store.outbox.due({ campaigns: [CAMPAIGN] }, Date.now() + 1_000, 10)) {
      await store.outbox.deadLetter(entry.id, 3, "HTTP 500", new Date());
    }
    const dead = await store.outbox.failed({ campaign: CAMPAIGN });
    expect(dead).toHaveLength(3);
    const one = await post("/dead-letters/replay", { ids: [dead[0]?.id] });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ replayed: 1, ids: [dead[0]?.id] });
    const rest = await post("/dead-letters/replay", { campaign: CAMPAIGN });
    expect((await rest.json()).replayed).toBe(2);
    expect(await store.outbox.failed({ campaign: CAMPAIGN })).toEqual([]);
    expect(await store.outbox.pendingCount({ campaigns: [CAMPAIGN] })).toBe(3);
  });

  test("a body that says neither ids nor a campaign of the file: 400 or 404, in words; a wrong token changes nothing", async () => {
    for (const body of [{}, { ids: [] }, { ids: "x" }, { campaign: "" }, "not json"]) {
      const response = await post("/dead-letters/replay", body);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toContain('{"ids"');
    }
    const unknown = await post("/dead-letters/replay", { campaign: "NOSUCHCAMPAIGN00" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "no campaign NOSUCHCAMPAIGN00 in the config file" });
    expect((await post("/dead-letters/replay", { campaign: CAMPAIGN }, "wrong")).status).toBe(401);
  });

  test("a state store that does not answer is a 503 in words, never a 500", async () => {
    const broken = fleetApi({
      overview: () => Promise.reject(new Error("connection refused")),
      outbox: { revive: () => Promise.reject(new Error("connection refused")) },
      pauses: {
        pause: () => Promise.reject(new Error("connection refused")),
        resume: () => Promise.reject(new Error("connection refused")),
      },
      campaigns: () => CAMPAIGNS,
      adminToken: TOKEN,
    });
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const status = await broken.request("/status", { headers });
    expect(status.status).toBe(503);
    const replay = await broken.request("/dead-letters/replay", { method: "POST", headers, body: JSON.stringify({ campaign: CAMPAIGN }) });
    expect(replay.status).toBe(503);
    expect((await replay.json()).error).not.toContain("refused");
  });

  test("pausing and resuming: by campaign, or one of its modes; the paused set in the store says so", async () => {
    const paused = await post("/campaigns/pause", { campaign: CAMPAIGN, mode: "webhook" });
    expect(await paused.json()).toEqual({ paused: 1 });
    expect([...(await store.status.paused())]).toEqual([`${CAMPAIGN}|webhook|`]);
    expect(await (await post("/campaigns/pause", { campaign: CAMPAIGN })).json()).toEqual({ paused: 2 });
    expect((await store.status.paused()).size).toBe(2);
    expect(await (await post("/campaigns/resume", { campaign: CAMPAIGN })).json()).toEqual({ resumed: 2 });
    expect((await store.status.paused()).size).toBe(0);
    const unknown = await post("/campaigns/pause", { campaign: CAMPAIGN, mode: "db_init" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: `no campaign ${CAMPAIGN} in mode db_init in the config file` });
    expect((await post("/campaigns/resume", {})).status).toBe(400);
    expect((await post("/campaigns/pause", { campaign: CAMPAIGN }, "wrong")).status).toBe(401);
  });
});
