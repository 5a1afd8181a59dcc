// The same app on the edge: src/edge/deno.ts under Deno and src/edge/workers.ts under workerd
// (miniflare), over a libSQL server reached over HTTP (a real sqld) and over a D1 database, answer
// the same requests as `dbsync serve` under Bun does, byte for byte after the one time-dependent
// part (the cutoff inside Talkdesk's offset, and the offset's signature made over it) is set aside.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { connect } from "node:net";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import type { Dialect, Row } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import type { CampaignField } from "../src/core/sync/tables.ts";
import { type D1Database, d1Dialect } from "../src/dialects/sqlite/d1.ts";
import { createLibsqlDialect } from "../src/dialects/sqlite/libsql-node.ts";
import { CLI, serveUrl, tempDir } from "./helpers/run.ts";
import { type RunningSqld, startSqld } from "./helpers/sqld.ts";
import { type RunningWorker, startWorker } from "./helpers/worker.ts";

setDefaultTimeout(120_000);

const ROOT = resolve(import.meta.dir, "..");
const DENO = resolve(ROOT, "node_modules/.bin/deno");
const TOKEN = "edge-token-0123456789";
const AUTH = { username: "talkdesk@example.com", password: "s3cret-pass" };
const PAGE_SIZE = 50;

const FIELDS: CampaignField[] = [
  { name: "name", type: "field", fieldType: "text", deleted: false },
  { name: "mobile", type: "field", fieldType: "phone", deleted: false },
];

/** 120 contacts over 7 change times (several share one), each with a Berlin number, some a mobile. */
const CONTACTS: Row[] = Array.from({ length: 120 }, (_, i) => ({
  $id: `c${String(i).padStart(3, "0")}`,
  $md5: `md5-${i}`,
  $changed: `2026-01-0${1 + (i % 7)}T08:00:00Z`,
  $phone: `+49 30 ${1_000_000 + i}`,
  name: `Contact ${i}`,
  mobile: i % 5 === 0 ? `0171/${2_000_000 + i}` : null,
}));

/** Settings every runtime gets; `prefix` keeps the runtimes' tables apart in the shared server. */
function settings(prefix: string): Record<string, string> {
  return {
    DBSYNC_TP: prefix,
    DBSYNC_PAGE_SIZE: String(PAGE_SIZE),
    DBSYNC_PHONECALLS_TOKENS: TOKEN,
    DBSYNC_TALKDESK_USERNAME: AUTH.username,
    DBSYNC_TALKDESK_PASSWORD: AUTH.password,
  };
}

async function seed(dialect: Dialect, prefix: string): Promise<void> {
  const target = new SqlTarget(dialect, prefix);
  await target.prepare(FIELDS);
  await target.write({ contacts: CONTACTS });
}

let sqld: RunningSqld;
const children: Subprocess<"ignore", "pipe", "pipe">[] = [];
const workers: RunningWorker[] = [];
/** Base URL per runtime. */
const bases: Record<string, string> = {};

function spawnServer(argv: string[], env: Record<string, string>): Promise<string> {
  const home = tempDir("edge-home");
  const child = Bun.spawn(argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: home, DBSYNC_LOG_DIR: `${home}/logs`, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(child);
  return serveUrl(child, () => new Response(child.stderr).text());
}

beforeAll(async () => {
  sqld = await startSqld();
  const remote = `${sqld.url}?authToken=${sqld.token}`;
  const over = await createLibsqlDialect(remote);
  for (const prefix of ["bun_", "deno_", "wk_"]) await seed(over, prefix);
  await over.close();

  const [bun, deno, d1Worker, libsqlWorker] = await Promise.all([
    spawnServer(
      ["bun", CLI, "serve", "--url", remote, "--port", "0", "--state", `file:${tempDir("edge-state")}/state.db`],
      settings("bun_"),
    ),
    spawnServer([DENO, "run", "--no-lock", "--allow-net", "--allow-env", "--allow-read", "src/edge/deno.ts"], {
      ...settings("deno_"),
      DBSYNC_URL: sqld.url,
      DBSYNC_AUTH_TOKEN: sqld.token,
      PORT: "0",
      DENO_DIR: tempDir("deno-dir"),
    }),
    startWorker(settings("cf_"), { d1: true }),
    startWorker({ ...settings("wk_"), DBSYNC_URL: sqld.url, DBSYNC_AUTH_TOKEN: sqld.token }),
  ]);
  workers.push(d1Worker, libsqlWorker);
  await seed(d1Dialect((await d1Worker.mf.getD1Database("DB")) as unknown as D1Database), "cf_");
  Object.assign(bases, { bun, deno, "workers (D1)": d1Worker.url, "workers (libSQL over HTTP)": libsqlWorker.url });
});

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((child) => child.exited));
  await Promise.all(workers.map((worker) => worker.mf.dispose()));
  await sqld?.stop();
});

interface Answer {
  request: string;
  status: number;
  body: unknown;
}

/**
 * The offset's cutoff is "now minus the settle time" at the first page: the one part that differs by
 * clock, and with it the offset's signature (after the dot).
 */
function withoutCutoff(body: unknown): unknown {
  if (typeof body !== "object" || body === null || !("next_offset" in body)) return body;
  const [payload = "", signature = ""] = String((body as { next_offset: unknown }).next_offset).split(".");
  const [, changed, id] = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as string[];
  return { ...body, next_offset: ["<cutoff>", changed, id, `<signature of ${signature.length} characters>`] };
}

/** One fixed conversation with a server: phonecalls, Talkdesk paging, errors. */
async function converse(base: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  const ask = async (request: string, init?: RequestInit & { json?: unknown }) => {
    const [method, path] = request.split(" ") as [string, string];
    const body = init?.json !== undefined ? JSON.stringify(init.json) : init?.body;
    const headers = init?.json !== undefined ? { "content-type": "application/json" } : init?.headers;
    const response = await fetch(`${base}${path}`, { method, body, headers });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    answers.push({ request, status: response.status, body: withoutCutoff(parsed) });
    return { status: response.status, body: parsed };
  };
  const create = "/direct/items/phonecalls/create";
  await ask("GET /healthz");
  await ask(`GET ${create}?token=${TOKEN}&initiated=2026-02-01T10:00:00Z&source=200&destination=030%201000007&duration=31`);
  await ask(`GET ${create}?token=${TOKEN}&initiated=2026-02-01T10:00:00Z&source=200&destination=030%201000007&duration=31`);
  await ask(`POST ${create}`, {
    json: {
      token: TOKEN,
      initiated: "2026-02-02T11:30:00Z",
      source: "201",
      destination: "+49 171 2000010",
      duration: "12",
      url: "https://pbx.example/r/1.wav",
    },
  });
  await ask(`POST ${create}`, {
    body: new URLSearchParams({ token: TOKEN, initiated: "2026-02-03T09:00:00Z", source: "202", destination: "0049301000099" }),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  await ask(`GET ${create}?token=${TOKEN}&initiated=2026-02-01T10:00:00Z&source=200&destination=0309999999`);
  await ask(`GET ${create}?initiated=2026-02-01T10:00:00Z&source=200&destination=030%201000007`);
  await ask(`GET ${create}?token=wrong-token-000000&initiated=2026-02-01T10:00:00Z&source=200&destination=030%201000007`);
  await ask(`GET ${create}?token=${TOKEN}&initiated=yesterday&source=&destination=x`);
  await ask(`GET /direct/items/phonecalls/delete?token=${TOKEN}&from=2026-02-01&to=2026-02-03`);
  await ask(`GET ${create}?token=${TOKEN}&initiated=2026-02-02T11:30:00Z&source=201&destination=%2B49%20171%202000010&duration=12`);
  await ask("POST /talkdesk/validate", { json: { auth: AUTH } });
  await ask("POST /talkdesk/validate", { json: { auth: { ...AUTH, password: "nope" } } });
  let meta: Record<string, unknown> = {};
  for (let page = 1; page < 10; page++) {
    const { body } = await ask("POST /talkdesk/contact_sync", { json: { auth: AUTH, meta } });
    const answer = body as { next_offset?: unknown; synchronization_checkpoint: string };
    const offset = answer.next_offset;
    if (offset === undefined) {
      await ask("POST /talkdesk/contact_sync", {
        json: { auth: AUTH, meta: { synchronization_checkpoint: answer.synchronization_checkpoint } },
      });
      break;
    }
    meta = { offset, context: { page } };
  }
  await ask("POST /talkdesk/contact_sync", { body: "{", headers: { "content-type": "application/json" } });
  await ask("POST /talkdesk/contact_sync", { json: { auth: AUTH, meta: { offset: "garbage" } } });
  await ask("POST /talkdesk/contact_sync", { body: "x".repeat(70_000), headers: { "content-type": "application/json" } });
  await ask("GET /openapi.json");
  await ask("GET /no/such/route");
  await ask("GET /readyz");
  const metrics = await fetch(`${base}/metrics`);
  answers.push({
    request: "GET /metrics (status)",
    status: metrics.status,
    body: (await metrics.text()).includes("dbsync_http_requests_total"),
  });
  return answers;
}

describe("the app on Deno and on Workers answers as dbsync serve on Bun", () => {
  let reference: Answer[] = [];

  test("dbsync serve (Bun) over libSQL on HTTP: the conversation's answers are the right ones", async () => {
    reference = await converse(bases.bun as string);
    const byRequest = (index: number) => reference[index] as Answer;
    expect(byRequest(0)).toMatchObject({ status: 200, body: { ok: true } });
    const first = byRequest(1).body as Record<string, unknown>;
    expect(first).toMatchObject({ error: false, contactId: "c007", created: true });
    expect(byRequest(2).body).toEqual({ ...first, created: false });
    expect(byRequest(3).body).toMatchObject({ error: false, contactId: "c010", created: true });
    expect(byRequest(4).body).toMatchObject({ error: false, contactId: "c099", created: true });
    expect(byRequest(5)).toMatchObject({ status: 422, body: { error: true } });
    expect(byRequest(6).status).toBe(401);
    expect(byRequest(7).status).toBe(401);
    expect(byRequest(8).status).toBe(400);
    // days strictly between Feb 1 and Feb 3: the call of Feb 2 only
    expect(byRequest(9).body).toEqual({ count: 1, error: false });
    expect(byRequest(10).body).toMatchObject({ contactId: "c010", created: true });
    expect(byRequest(11).status).toBe(200);
    expect(byRequest(12).status).toBe(401);
    const pages = reference.filter((a) => a.request === "POST /talkdesk/contact_sync" && a.status === 200);
    const ids = pages.flatMap((a) => ((a.body as { contacts?: { id: string }[] }).contacts ?? []).map((c) => c.id));
    const expected = [...CONTACTS].sort((a, b) => `${a.$changed}${a.$id}`.localeCompare(`${b.$changed}${b.$id}`)).map((c) => String(c.$id));
    expect(ids).toEqual(expected);
    expect(pages).toHaveLength(Math.ceil(CONTACTS.length / PAGE_SIZE) + 1);
    expect((pages.at(-1)!.body as { contacts: unknown[] }).contacts).toEqual([]);
    expect(reference.find((a) => a.request === "GET /no/such/route")?.status).toBe(404);
    expect(reference.filter((a) => a.status >= 500)).toEqual([]);
  });

  for (const runtime of ["deno", "workers (D1)", "workers (libSQL over HTTP)"]) {
    test(`${runtime}: the same requests get the same answers`, async () => {
      expect(reference.length).toBeGreaterThan(20);
      const answers = await converse(bases[runtime] as string);
      expect(answers).toEqual(reference);
    });
  }
});

describe("edge configuration mistakes are answered, not crashed on", () => {
  test("a Worker without a database, with a bad setting, or with a wrong database token", async () => {
    const none = await startWorker({});
    const bad = await startWorker({ ...settings(""), DBSYNC_PAGE_SIZE: "lots" }, { d1: true });
    const locked = await startWorker({ ...settings("wk_"), DBSYNC_URL: sqld.url, DBSYNC_AUTH_TOKEN: "not-a-valid-jwt" });
    const unquoted = await startWorker({ ...settings(""), DBSYNC_TALKDESK_PASSWORD: 98765432 }, { d1: true });
    const local = await startWorker({ ...settings(""), DBSYNC_URL: "file:/srv/dbsync/secret-name.db" });
    try {
      const first = await fetch(`${none.url}/healthz`);
      expect(first.status).toBe(500);
      expect(((await first.json()) as { error: string }).error).toContain("bind a D1 database as DB, or set DBSYNC_URL");
      const second = await fetch(`${bad.url}/talkdesk/validate`, { method: "POST", body: "{}" });
      expect(second.status).toBe(500);
      expect(((await second.json()) as { error: string }).error).toBe("dbsync is misconfigured: DBSYNC_PAGE_SIZE must be a number");
      const third = await fetch(`${locked.url}/readyz`);
      expect(third.status).toBe(503);
      const body = (await third.json()) as { error: string };
      expect(body.error).toBe("the database cannot be reached");
      expect(third.headers.get("retry-after")).toBe("5");
      // a secret given unquoted in wrangler.toml arrives as a number: named, never echoed
      const fourth = await fetch(`${unquoted.url}/healthz`);
      expect(fourth.status).toBe(500);
      expect(await fourth.text()).toBe(
        '{"error":"dbsync is misconfigured: DBSYNC_TALKDESK_PASSWORD must be text (in wrangler.toml, in quotes)"}',
      );
      // a file is no database an edge runtime can reach; the answer names the variable, not its value
      const fifth = await fetch(`${local.url}/healthz`);
      expect(fifth.status).toBe(500);
      expect(await fifth.text()).toBe(
        '{"error":"dbsync is misconfigured: DBSYNC_URL must name a libSQL server reached over HTTP: libsql://HOST or https://HOST"}',
      );
    } finally {
      await Promise.all([none, bad, locked, unquoted, local].map((w) => w.mf.dispose()));
    }
  });

  test("Deno without DBSYNC_URL answers 500 naming the variable; a bad PORT exits 2 with one line", async () => {
    const base = await spawnServer([DENO, "run", "--no-lock", "--allow-net", "--allow-env", "--allow-read", "src/edge/deno.ts"], {
      PORT: "0",
      DENO_DIR: tempDir("deno-dir"),
    });
    const answer = await fetch(`${base}/healthz`);
    expect(answer.status).toBe(500);
    expect(((await answer.json()) as { error: string }).error).toContain("DBSYNC_URL is not set");
    const badPort = Bun.spawnSync([DENO, "run", "--no-lock", "--allow-net", "--allow-env", "--allow-read", "src/edge/deno.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: tempDir("edge-home"), PORT: "eighty", DENO_DIR: tempDir("deno-dir") },
    });
    expect(badPort.exitCode).toBe(2);
    expect(badPort.stderr.toString().trim()).toBe('error: PORT must be a port number (got "eighty")');
  });
});

/** The status line's code of one request written to a socket as is; 0 when the runtime just closes. */
function rawStatus(base: string, request: string): Promise<number> {
  return new Promise((done) => {
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    let received = "";
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      done(Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1] ?? 0));
    };
    const timer = setTimeout(finish, 5_000);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes("\r\n\r\n")) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
  });
}

describe("the same faults on the edge", () => {
  test("requests whose URL cannot be built: 400 from dbsync serve, never a 5xx from Deno", async () => {
    const requests = [
      "GET /healthz?token=x HTTP/1.0\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: [::1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: \r\n\r\n",
      "CONNECT *?token=x HTTP/1.1\r\nHost: x\r\n\r\n",
      "CONNECT a HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    // Not the Workers: miniflare's own entry worker (local only) fails on these before the Worker
    // runs, and Cloudflare's front refuses them itself; what reaches the Worker is the app's, as here.
    const statuses = (base: string) => Promise.all(requests.map((request) => rawStatus(base, request)));
    expect(await statuses(bases.bun as string)).toEqual(requests.map(() => 400));
    expect((await statuses(bases.deno as string)).filter((status) => status >= 500)).toEqual([]);
  });

  test("a D1 database the sync has not written: not ready, no checkpoint, no phonecall (503) until it has; then all work", async () => {
    const worker = await startWorker(settings("later_"), { d1: true });
    try {
      const sync = () => fetch(`${worker.url}/talkdesk/contact_sync`, { method: "POST", body: JSON.stringify({ auth: AUTH, meta: {} }) });
      const create = () =>
        fetch(
          `${worker.url}/direct/items/phonecalls/create?token=${TOKEN}&initiated=2026-02-01T10:00:00Z&source=200&destination=030%201000007`,
        );
      expect((await fetch(`${worker.url}/readyz`)).status).toBe(503);
      const refused = await sync();
      expect(refused.status).toBe(503);
      expect(await refused.json()).not.toHaveProperty("synchronization_checkpoint");
      expect((await create()).status).toBe(503);
      await seed(d1Dialect((await worker.mf.getD1Database("DB")) as unknown as D1Database), "later_");
      await Bun.sleep(2_100); // the table's columns are asked again after 2 s
      expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
      const page = await sync();
      expect(page.status).toBe(200);
      expect(((await page.json()) as { contacts: unknown[] }).contacts).toHaveLength(PAGE_SIZE);
      expect(await (await create()).json()).toMatchObject({ error: false, contactId: "c007", created: true });
    } finally {
      await worker.mf.dispose();
    }
  });
});
