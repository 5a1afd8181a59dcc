// `dbsync serve` as a real process over HTTP, playing Talkdesk against the contacts a real sync wrote
// from the simulator: every contact once in the initial sync, then exactly the changed ones.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { openDialect } from "../src/dialects/index.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { CLI, syncInProcess, tempDir, serveUrl, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(120_000);

const TOKEN = "serve-token-0123456789";
const CAMPAIGN = "SERVECAMPAIGN001";
const AUTH = { username: "talkdesk@example.com", password: "s3cret-pass" };

let sim: RunningSimulator;
let server: Subprocess<"ignore", "pipe", "pipe">;
let base = "";
const dir = tempDir("serve");
const target = `file:${join(dir, "target.db")}`;

function syncFlags(mode: string, ...extra: string[]): string[] {
  return [...flatFlags(mode, CAMPAIGN, TOKEN, sim.url, target, `file:${dir}/state.db`), "--w", "8", ...extra];
}

beforeAll(async () => {
  sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 1000, seed: 21 });
  expect(await syncInProcess(syncFlags("db_init"))).toBe(0);
  // All 1,000 at one change time: the checkpoint must still never skip nor repeat one.
  const dialect = await openDialect(target);
  await dialect.run(`UPDATE "contacts" SET "$changed" = '2026-11-22T00:00:00Z'`);
  await dialect.close();
  server = Bun.spawn(["bun", CLI, "serve", "--url", target, "--port", "0", "--page-size", "40", "--settle", "1"], {
    env: { ...process.env, DBSYNC_TALKDESK_USERNAME: AUTH.username, DBSYNC_TALKDESK_PASSWORD: AUTH.password },
    stdout: "pipe",
    stderr: "pipe",
  });
  base = await serveUrl(server, () => new Response(server.stderr).text());
  await Bun.sleep(2100); // the settle time, plus the second $changed is cut to
});

afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  await sim.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Talkdesk's side: pages until no next_offset; every answer checked for the contract's shape. */
async function talkdeskSync(checkpoint?: string): Promise<{ ids: string[]; checkpoint: string; pages: number }> {
  const ids: string[] = [];
  let meta: Record<string, unknown> = checkpoint ? { synchronization_checkpoint: checkpoint } : {};
  for (let pages = 1; ; pages++) {
    const { status, json } = await post("/talkdesk/contact_sync", { auth: AUTH, meta });
    expect(status).toBe(200);
    const contacts = json.contacts as { id: string; name: string }[];
    expect(contacts.every((c) => typeof c.id === "string" && typeof c.name === "string" && c.name !== "")).toBe(true);
    expect(typeof json.synchronization_checkpoint).toBe("string");
    ids.push(...contacts.map((c) => c.id));
    if (json.next_offset === undefined) {
      expect("context" in json).toBe(false);
      return { ids, checkpoint: json.synchronization_checkpoint as string, pages };
    }
    expect(json.context).toEqual(meta.context ?? null);
    meta = { ...meta, offset: json.next_offset, context: { page: pages } };
  }
}

describe("Talkdesk against a real serve", () => {
  let checkpoint = "";

  test("initial sync through all pages: 1,000 contacts of one change time, every one exactly once, ascending", async () => {
    const first = await talkdeskSync();
    expect(first.ids.length).toBe(1000);
    expect(new Set(first.ids).size).toBe(1000);
    expect([...first.ids].sort()).toEqual(
      sim.campaign
        .contacts()
        .map((c) => c.$id)
        .sort(),
    );
    expect(first.ids).toEqual([...first.ids].sort()); // one change time: ascending by id
    expect(first.pages).toBe(25);
    checkpoint = first.checkpoint;
  });

  test("after db_sync writes changes, the incremental sync returns exactly the changed and new contacts", async () => {
    const changed = new Set<string>();
    for (let i = 0; i < 5; i++) for (const id of sim.campaign.tick().changedContacts) changed.add(id);
    expect(changed.size).toBeGreaterThan(3);
    const stop = new AbortController();
    // A short look-back: a longer one re-reads the initial load's recent events and writes their
    // contacts again, which puts back the real change times this test replaced with one shared time.
    const run = syncInProcess(syncFlags("db_sync", "--interval", "0.3", "--lookback", "2"), stop.signal);
    await Bun.sleep(2500);
    stop.abort();
    expect(await run).toBe(0);
    await Bun.sleep(2100);
    const next = await talkdeskSync(checkpoint);
    expect([...next.ids].sort()).toEqual([...changed].sort());
    expect((await talkdeskSync(next.checkpoint)).ids).toEqual([]);
  });

  test("wrong credentials: 401, validate says the same", async () => {
    expect((await post("/talkdesk/contact_sync", { auth: { ...AUTH, password: "nope" }, meta: {} })).status).toBe(401);
    expect((await post("/talkdesk/validate", { auth: AUTH })).status).toBe(200);
    expect((await post("/talkdesk/validate", { auth: { username: AUTH.username } })).status).toBe(401);
  });

  test("malformed requests get 4xx with a JSON error, never a 500", async () => {
    for (const body of [
      "{",
      "null",
      "[]",
      { meta: {} },
      { auth: AUTH, meta: { offset: "garbage" } },
      { auth: AUTH, meta: { synchronization_checkpoint: 5 } },
    ]) {
      const { status, json } = await post("/talkdesk/contact_sync", body);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(typeof json.error).toBe("string");
    }
    const huge = await fetch(`${base}/talkdesk/contact_sync`, { method: "POST", body: "x".repeat(200_000) });
    expect(huge.status).toBe(413);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
