// The server's app in process (Hono's app.request), built as `dbsync serve` builds it, over a real
// libSQL contacts table written by the sync's own SqlTarget and a real state store: its OpenAPI
// document against the routes it registers, its Prometheus metrics, health checks, 404 and 413.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Hono } from "hono";
import { resolveMapping } from "../src/core/talkdesk/contact-mapping.ts";
import { ContactReader } from "../src/core/sql/contact-reader.ts";
import type { Dialect } from "../src/core/sql/dialect.ts";
import { PhoneIndex } from "../src/core/phonecalls/phone-index.ts";
import { PhonecallService } from "../src/core/phonecalls/service.ts";
import { PhonecallStore } from "../src/core/phonecalls/store.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { hashToken } from "../src/core/phonecalls/tokens.ts";
import { openDialect } from "../src/dialects/index.ts";
import { BODY_LIMIT, createApp } from "../src/server.ts";
import type { OpenApiDocumentShape } from "./helpers/openapi-document.ts";
import { tempDir } from "./helpers/run.ts";

const PREFIX = "dfire_";
const ENV_TOKEN = "env-token-0123456789";
const AUTH = { username: "talkdesk@example.com", password: "s3cret-pass" };
const FIELDS = [
  { name: "firstname", type: "field", fieldType: "text", deleted: false },
  { name: "lastname", type: "field", fieldType: "text", deleted: false },
  { name: "mobile", type: "field", fieldType: "phone", deleted: false },
];
/** Changed an hour ago: long settled for Talkdesk and the phone index. */
const CHANGED = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const CONTACTS = Array.from({ length: 30 }, (_, i) => ({
  $id: `C${String(i).padStart(3, "0")}`,
  $md5: `md5-${i}`,
  $changed: CHANGED,
  $phone: `+4930${String(1_000_000 + i)}`,
  mobile: `+49151${String(20_000_000 + i)}`,
  firstname: "Ann",
  lastname: `Number ${i}`,
}));

const dir = tempDir("server");
const targetUrl = `file:${join(dir, "target.db")}`;
let dialect: Dialect;
let state: StateStore;
let app: Hono;
const errors: unknown[] = [];

/** The app as src/cli/serve-command.ts builds it, over this dialect and state store. */
function build(db: Dialect, store: StateStore): Hono {
  const contacts = new ContactReader(db, db.fitIdentifier(`${PREFIX}contacts`));
  const settleMs = 1_000;
  return createApp({
    contacts,
    phonecalls: {
      service: new PhonecallService(
        new PhonecallStore(db, PREFIX),
        new PhoneIndex(db, contacts, PREFIX, { phoneColumns: (columns) => resolveMapping(columns).phones, settleMs }),
      ),
      tokenHashes: async () => [hashToken(ENV_TOKEN), ...(await store.tokens.activeHashes())],
    },
    checkpoints: () => store.listCheckpoints(),
    talkdesk: { credentials: AUTH, pageSize: 10, settleMs },
    ready: async () => {
      await db.all("SELECT 1");
      await store.ping();
    },
    onError: (error) => errors.push(error),
  });
}

beforeAll(async () => {
  dialect = await openDialect(targetUrl);
  const target = new SqlTarget(dialect, PREFIX);
  await target.prepare(FIELDS);
  await target.write({ contacts: CONTACTS });
  state = await openStateStore(`file:${join(dir, "state.db")}`);
  app = build(dialect, state);
});

afterAll(async () => {
  await dialect.close();
  await state.close();
});

async function json(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get("content-type") ?? "").toContain("application/json");
  return (await response.json()) as Record<string, unknown>;
}

function postJson(path: string, body: unknown, to: Hono = app): Promise<Response> {
  return Promise.resolve(to.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
}

// ---- Prometheus text ----

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the exposition text strictly: HELP and TYPE before each family's samples, label syntax, numbers. */
function parseMetrics(text: string): Sample[] {
  expect(text.endsWith("\n")).toBe(true);
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (help) {
      helped.add(help[1] as string);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      typed.set(type[1] as string, type[2] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    const [, name, rawLabels = "", rawValue] = sample as unknown as [string, string, string | undefined, string];
    if (!typed.has(name) || !helped.has(name)) throw new Error(`sample before its HELP and TYPE: ${line}`);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    while (labelRe.lastIndex < rawLabels.length) {
      const at = labelRe.lastIndex;
      const label = labelRe.exec(rawLabels);
      if (!label || labelRe.lastIndex === at) throw new Error(`bad labels in ${line}`);
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const value = rawValue === "NaN" ? Number.NaN : Number(rawValue);
    if (rawValue !== "NaN" && !Number.isFinite(value)) throw new Error(`bad value in ${line}`);
    if (typed.get(name) === "counter" && !(value >= 0)) throw new Error(`negative counter in ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}

async function metrics(to: Hono = app): Promise<Sample[]> {
  const response = await to.request("/metrics");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type") ?? "").toStartWith("text/plain; version=0.0.4");
  return parseMetrics(await response.text());
}

/** The value of one series; 0 when absent (a counter not yet incremented). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}

const requests = (samples: Sample[], route: string, status: number) =>
  value(samples, "dbsync_http_requests_total", { route, status: String(status) });

// ---- the tests ----

describe("/openapi.json", () => {
  let doc: OpenApiDocumentShape;

  beforeAll(async () => {
    const response = await app.request("/openapi.json");
    expect(response.status).toBe(200);
    doc = (await json(response)) as unknown as OpenApiDocumentShape;
  });

  test("is an OpenAPI 3.1 document", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info?.title).toBe("string");
    expect(typeof doc.info?.version).toBe("string");
    expect(typeof doc.paths).toBe("object");
    const methods = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
    const undescribed: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toStartWith("/");
      for (const [method, operation] of Object.entries(item)) {
        expect(methods.has(method)).toBe(true);
        expect(Object.keys(operation.responses ?? {}).length).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(status).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          if (typeof response.description !== "string") undescribed.push(`${method.toUpperCase()} ${path} ${status}`);
          for (const [media, content] of Object.entries(response.content ?? {})) {
            expect(media).toMatch(/^[a-z]+\/[a-z0-9.+-]+$/);
            expect(typeof content).toBe("object");
          }
        }
        for (const parameter of operation.parameters ?? []) {
          expect(typeof parameter.name).toBe("string");
          expect(["query", "header", "path", "cookie"]).toContain(parameter.in);
        }
        if (operation.requestBody !== undefined) expect(Object.keys(operation.requestBody.content ?? {}).length).toBeGreaterThan(0);
      }
    }
    // OpenAPI 3.1 requires a description on every Response Object.
    expect({ responsesWithoutDescription: undescribed }).toEqual({ responsesWithoutDescription: [] });
  });

  test("lists a 503, 413 or unknown-method 404 only where a route can give one: the service routes, and /readyz's 503", () => {
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort();
    expect(statuses("/healthz", "get")).toEqual(["200"]);
    expect(statuses("/metrics", "get")).toEqual(["200"]);
    expect(statuses("/openapi.json", "get")).toEqual(["200"]);
    expect(statuses("/readyz", "get")).toEqual(["200", "503"]);
    for (const [path, method] of [
      ["/talkdesk/contact_sync", "post"],
      ["/direct/items/phonecalls/create", "get"],
    ] as const) {
      expect(statuses(path, method)).toEqual(expect.arrayContaining(["404", "413", "503"]));
    }
  });

  test("describes every route the app registers, and no other", () => {
    const registered = app.routes
      .filter((route) => !(route.method === "ALL" && (route.path === "*" || route.path === "/*")))
      .map((route) => `${route.method} ${route.path}`);
    expect(registered).toContain("GET /direct/items/phonecalls/delete");
    expect(registered).toContain("POST /talkdesk/contact_sync");
    const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...new Set(described)].sort()).toEqual([...new Set(registered)].sort());
  });
});

describe("/metrics", () => {
  test("counts requests by route pattern and status; unknown paths as route unmatched", async () => {
    const before = await metrics();
    await app.request("/healthz");
    await app.request("/healthz");
    await app.request("/healthz");
    await app.request("/no/such/path");
    await app.request("/direct/items/phonecalls/create/extra");
    await app.request("/healthz", { method: "POST" });
    await app.request("/direct/items/phonecalls/create?token=wrong");
    const after = await metrics();
    expect(requests(after, "/healthz", 200) - requests(before, "/healthz", 200)).toBe(3);
    // The /metrics request that took `before` is counted once it was answered.
    expect(requests(after, "/metrics", 200) - requests(before, "/metrics", 200)).toBe(1);
    expect(requests(after, "/direct/items/phonecalls/create", 401) - requests(before, "/direct/items/phonecalls/create", 401)).toBe(1);
    // No series per path: the unknown paths are not route labels.
    const routes = new Set(after.filter((s) => s.name === "dbsync_http_requests_total").map((s) => s.labels.route));
    expect(routes.has("/no/such/path")).toBe(false);
    expect(routes.has("/direct/items/phonecalls/create/extra")).toBe(false);
    // The two unknown paths went to the route "unmatched"; the wrong method counts under its path.
    const grown404 = after
      .filter((s) => s.name === "dbsync_http_requests_total" && s.labels.status === "404")
      .map((s) => [s.labels.route, s.value - requests(before, s.labels.route as string, 404)] as const)
      .filter(([, grown]) => grown > 0)
      .map(([route, grown]) => `${route} +${grown}`);
    expect(grown404).toEqual(["/healthz +1", "unmatched +2"]);
  });

  test("phonecalls created: counted once per new call, not for duplicates or refusals", async () => {
    const created = (s: Sample[]) => value(s, "dbsync_phonecalls_created_total");
    const start = created(await metrics());
    const contact = CONTACTS[7] as (typeof CONTACTS)[number];
    const query = new URLSearchParams({
      token: ENV_TOKEN,
      initiated: "2026-03-04T10:11:12",
      source: "+4989123456",
      destination: contact.mobile,
    });
    const first = await app.request(`/direct/items/phonecalls/create?${query}`);
    expect(first.status).toBe(200);
    expect(await json(first)).toMatchObject({ error: false, contactId: contact.$id, created: true });
    expect(created(await metrics())).toBe(start + 1);

    const again = await app.request(`/direct/items/phonecalls/create?${query}`);
    expect(await json(again)).toMatchObject({ error: false, contactId: contact.$id, created: false });
    expect(
      (await app.request(`/direct/items/phonecalls/create?${new URLSearchParams({ ...Object.fromEntries(query), token: "wrong" })}`))
        .status,
    ).toBe(401);
    expect(created(await metrics())).toBe(start + 1);

    // By form, with a token managed in the state store.
    const { token } = await state.tokens.add("metrics-test");
    const form = new URLSearchParams({ token, initiated: "2026-03-04T10:11:13Z", source: "+4989123456", destination: contact.$phone });
    const byForm = await app.request("/direct/items/phonecalls/create", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    expect(await json(byForm)).toMatchObject({ error: false, contactId: contact.$id, created: true });
    const after = await metrics();
    expect(created(after)).toBe(start + 2);
    expect(requests(after, "/direct/items/phonecalls/create", 200)).toBeGreaterThanOrEqual(3);
  });

  test("Talkdesk pages: counted per page served, not for refusals", async () => {
    const pages = (s: Sample[]) => value(s, "dbsync_talkdesk_pages_total");
    const start = pages(await metrics());
    const first = await postJson("/talkdesk/contact_sync", { auth: AUTH, meta: {} });
    expect(first.status).toBe(200);
    const page = await json(first);
    expect((page.contacts as unknown[]).length).toBe(10);
    expect(typeof page.next_offset).toBe("string");
    expect((await postJson("/talkdesk/contact_sync", { auth: AUTH, meta: { offset: page.next_offset } })).status).toBe(200);
    expect((await postJson("/talkdesk/contact_sync", { auth: { ...AUTH, password: "no" }, meta: {} })).status).toBe(401);
    expect((await postJson("/talkdesk/contact_sync", { auth: AUTH, meta: { offset: "garbage" } })).status).toBe(400);
    expect((await postJson("/talkdesk/validate", { auth: AUTH })).status).toBe(200);
    const after = await metrics();
    expect(pages(after)).toBe(start + 2);
    expect(requests(after, "/talkdesk/contact_sync", 200)).toBeGreaterThanOrEqual(2);
    expect(requests(after, "/talkdesk/contact_sync", 401)).toBeGreaterThanOrEqual(1);
    expect(requests(after, "/talkdesk/validate", 200)).toBeGreaterThanOrEqual(1);
  });

  test("last checkpoint time and lag per campaign, from the state store's checkpoints", async () => {
    const keyA = { campaign: "CAMPAIGN_A", mode: "db_sync", target: `${targetUrl}|${PREFIX}` };
    const keyB = { campaign: "CAMPAIGN_B", mode: "db_init", target: 'file:/odd "path"\\x.db|' };
    // The target is shown as a short hash: its URL names a host, a user and a database.
    const shown = (key: typeof keyA) => ({ ...key, target: new Bun.CryptoHasher("sha256").update(key.target).digest("hex").slice(0, 8) });
    const [a, b] = [shown(keyA), shown(keyB)];
    const lagA = 90;
    const lagB = 3_600;
    await state.setCheckpoint(keyA, new Date(Date.now() - lagA * 1000).toISOString());
    await state.setCheckpoint(keyB, new Date(Date.now() - lagB * 1000).toISOString());
    const saved = await state.listCheckpoints();
    const samples = await metrics();
    expect(await (await app.request("/metrics")).text()).not.toContain(targetUrl);
    for (const [key, lag] of [
      [a, lagA],
      [b, lagB],
    ] as const) {
      const updatedAt = Date.parse(saved.find((c) => c.campaign === key.campaign)?.updatedAt ?? "");
      expect(value(samples, "dbsync_sync_last_checkpoint_timestamp_seconds", key)).toBeCloseTo(updatedAt / 1000, 2);
      const shown = value(samples, "dbsync_sync_lag_seconds", key);
      expect(shown).toBeGreaterThanOrEqual(lag - 1);
      expect(shown).toBeLessThan(lag + 30);
    }
    expect(samples.filter((s) => s.name === "dbsync_sync_lag_seconds").length).toBe(2);

    // A later save moves both gauges.
    await Bun.sleep(20);
    await state.setCheckpoint(keyA, new Date().toISOString());
    const later = await metrics();
    expect(value(later, "dbsync_sync_lag_seconds", a)).toBeLessThan(30);
    expect(value(later, "dbsync_sync_last_checkpoint_timestamp_seconds", a)).toBeGreaterThan(
      value(samples, "dbsync_sync_last_checkpoint_timestamp_seconds", a),
    );
  });
});

describe("health, unknown routes, body limit", () => {
  test("/healthz is 200 JSON", async () => {
    const response = await app.request("/healthz");
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ ok: true });
  });

  test("an unknown route is 404 with a JSON error; so is a known path with a wrong method", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["GET", "/talkdesk/contact_sync"],
      ["DELETE", "/direct/items/phonecalls/delete"],
      ["POST", "/metrics"],
    ] as const) {
      const response = await app.request(path, { method });
      expect(response.status).toBe(404);
      expect(typeof (await json(response)).error).toBe("string");
    }
  });

  test("a body over 64 KB is 413 JSON; one of exactly 64 KB is read", async () => {
    expect(BODY_LIMIT).toBe(64 * 1024);
    const padded = (size: number) => {
      const body = JSON.stringify({ auth: AUTH, pad: "" });
      return body.replace('"pad":""', `"pad":"${"x".repeat(size - body.length)}"`);
    };
    expect(padded(BODY_LIMIT).length).toBe(BODY_LIMIT);
    const at = await app.request("/talkdesk/validate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: padded(BODY_LIMIT),
    });
    expect(at.status).toBe(200);
    for (const [path, type] of [
      ["/talkdesk/validate", "application/json"],
      ["/talkdesk/contact_sync", "application/json"],
      ["/direct/items/phonecalls/create", "application/x-www-form-urlencoded"],
    ] as const) {
      const over = await app.request(path, { method: "POST", headers: { "content-type": type }, body: padded(BODY_LIMIT + 1) });
      expect(over.status).toBe(413);
      expect(typeof (await json(over)).error).toBe("string");
    }
    // Without a content-length (a chunked body) the limit holds as it is read.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(10_000).fill(0x20));
        controller.close();
      },
    });
    const chunked = await app.request("/talkdesk/contact_sync", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(typeof (await json(chunked)).error).toBe("string");
  });
});

describe("when the database is gone", () => {
  let gone: Dialect;
  let goneApp: Hono;

  beforeAll(async () => {
    gone = await openDialect(targetUrl);
    goneApp = build(gone, state);
  });

  test("/readyz is 200 while the database answers, 503 JSON once it is closed; /healthz stays 200", async () => {
    const ready = await goneApp.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({ ok: true });
    await gone.close();
    const down = await goneApp.request("/readyz");
    expect(down.status).toBe(503);
    const body = await json(down);
    expect(body.ok).toBe(false);
    expect(typeof body.error).toBe("string");
    expect(body.error as string).not.toContain("\n    at ");
    const health = await goneApp.request("/healthz");
    expect(health.status).toBe(200);
  });

  test("Talkdesk and phonecalls answer 503 JSON, not 500, and no stack trace", async () => {
    const sync = await postJson("/talkdesk/contact_sync", { auth: AUTH, meta: {} }, goneApp);
    expect(sync.status).toBe(503);
    expect(typeof (await json(sync)).error).toBe("string");
    const query = new URLSearchParams({
      token: ENV_TOKEN,
      initiated: "2026-03-05T10:00:00",
      source: "+4989123456",
      destination: CONTACTS[3]?.mobile ?? "",
    });
    const call = await goneApp.request(`/direct/items/phonecalls/create?${query}`);
    expect(call.status).toBe(503);
    const text = JSON.stringify(await json(call));
    expect(text).not.toContain("    at ");
    expect((await goneApp.request(`/direct/items/phonecalls/delete?token=${ENV_TOKEN}&from=2026-01-01&to=2026-12-31`)).status).toBe(503);
  });
});

describe("when the state store is gone", () => {
  test("/readyz asks the state store itself: 200 while it answers, 503 without its address once it is closed", async () => {
    const storeUrl = `file:${join(dir, "gone-state.db")}`;
    const store = await openStateStore(storeUrl);
    const storeApp = build(dialect, store);
    expect((await storeApp.request("/readyz")).status).toBe(200);
    await store.close();
    const down = await storeApp.request("/readyz");
    expect(down.status).toBe(503);
    expect(await json(down)).toEqual({ ok: false, error: "the database or the state store does not answer" });
    // The reason, with the store's address, went to the log.
    expect(String(errors.at(-1))).toContain("gone-state.db");
  });
});
