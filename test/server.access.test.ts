// The server's app in process, built by serverDeps as `dbsync serve` and the edge build it, over real
// libSQL files: what it hands the access log, a client that hangs up, a database the sync has not
// written yet (not ready, no checkpoint, no phonecall) until it has; and the masking of secrets by
// their shape in everything bound for a log.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import type { Dialect } from "../src/core/sql/dialect.ts";
import { maskSecretShapes } from "../src/core/common/redact.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { hashToken, newToken } from "../src/core/phonecalls/tokens.ts";
import { redact } from "../src/cli/logger.ts";
import { openDialect } from "../src/dialects/index.ts";
import { edgeHandler } from "../src/edge/app.ts";
import { createApp } from "../src/server.ts";
import { NO_CONTACTS_TABLE } from "../src/server/talkdesk.ts";
import type { AccessEntry } from "../src/server/access.ts";
import { serverDeps } from "../src/server/deps.ts";
import { tempDir } from "./helpers/run.ts";

const TOKEN = "access-token-0123456789";
const AUTH = { username: "talkdesk@example.com", password: "s3cret-pass" };
const FIELDS = [{ name: "mobile", type: "field", fieldType: "phone", deleted: false }] as const;
const CHANGED = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const CONTACTS = Array.from({ length: 5 }, (_, i) => ({ $id: `C${i}`, $md5: `m${i}`, $changed: CHANGED, $phone: `+4930${1_000_000 + i}` }));

const dir = tempDir("server-access");
const opened: Dialect[] = [];

interface Built {
  app: Hono;
  entries: AccessEntry[];
  errors: unknown[];
}

async function build(file: string): Promise<Built & { dialect: Dialect }> {
  const dialect = await openDialect(`file:${join(dir, file)}`);
  opened.push(dialect);
  const entries: AccessEntry[] = [];
  const errors: unknown[] = [];
  const { deps } = serverDeps(
    dialect,
    { prefix: "", talkdesk: { credentials: AUTH, pageSize: 10, settleMs: 1_000 } },
    { tokenHashes: async () => [hashToken(TOKEN)], checkpoints: async () => [], onError: (error) => errors.push(error) },
  );
  return { app: createApp({ ...deps, onAccess: (entry) => entries.push(entry) }), entries, errors, dialect };
}

async function seed(dialect: Dialect): Promise<void> {
  const target = new SqlTarget(dialect, "");
  await target.prepare([...FIELDS]);
  await target.write({ contacts: CONTACTS });
}

const sync = (app: Hono, meta: Record<string, unknown> = {}) =>
  app.request("/talkdesk/contact_sync", { method: "POST", body: JSON.stringify({ auth: AUTH, meta }) });
const create = (app: Hono, destination: string) =>
  app.request(
    `/direct/items/phonecalls/create?${new URLSearchParams({ token: TOKEN, initiated: "2026-03-05T10:00:00", source: "200", destination })}`,
  );

afterAll(async () => {
  for (const dialect of opened) await dialect.close();
});

describe("the access log", () => {
  test("one entry per request: its method, the route's pattern (never the path's query), status and duration", async () => {
    const { app, entries, dialect } = await build("access.db");
    await seed(dialect);
    await app.request("/healthz");
    await app.request(`/direct/items/phonecalls/create?token=${TOKEN}&source=1`);
    await app.request("/no/such/path?token=abc");
    await app.request("/healthz", { method: "POST" });
    expect(entries.map(({ method, route, status, aborted }) => ({ method, route, status, aborted }))).toEqual([
      { method: "GET", route: "/healthz", status: 200, aborted: false },
      { method: "GET", route: "/direct/items/phonecalls/create", status: 400, aborted: false },
      { method: "GET", route: "unmatched", status: 404, aborted: false },
      { method: "POST", route: "/healthz", status: 404, aborted: false },
    ]);
    for (const entry of entries) expect(entry.ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(entries)).not.toContain(TOKEN);
  });

  test("a client that hangs up while its body is read is an abort in the log and the metrics, not an error", async () => {
    const { app, entries, errors } = await build("abort.db");
    const hangUp = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"auth":'));
      },
      pull(controller) {
        hangUp.abort();
        controller.error(new Error("The connection was closed."));
      },
    });
    // No content-length: the body limit reads the stream itself, as for a chunked upload.
    await app.request("/talkdesk/contact_sync", { method: "POST", body, duplex: "half", signal: hangUp.signal } as RequestInit);
    expect(errors).toEqual([]);
    expect(entries.at(-1)).toMatchObject({ method: "POST", route: "/talkdesk/contact_sync", aborted: true });
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('dbsync_http_client_aborts_total{route="/talkdesk/contact_sync"} 1');
    expect(metrics).not.toMatch(/dbsync_http_requests_total\{route="\/talkdesk\/contact_sync",status="5\d\d"\}/);
  });
});

describe("a database the sync has not written", () => {
  test("not ready, no checkpoint and no phonecall (503) until the contacts table appears; then all work without a restart", async () => {
    writeFileSync(join(dir, "empty.db"), "");
    const { app, errors, dialect } = await build("empty.db");
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ok: false, error: NO_CONTACTS_TABLE });

    const page = await sync(app);
    expect(page.status).toBe(503);
    expect(page.headers.get("retry-after")).not.toBeNull();
    const refused = (await page.json()) as Record<string, unknown>;
    expect(refused).toEqual({ error: NO_CONTACTS_TABLE });
    expect("synchronization_checkpoint" in refused).toBe(false);
    // Credentials are still checked first: a stranger learns nothing more than /readyz says.
    expect(
      (await app.request("/talkdesk/contact_sync", { method: "POST", body: JSON.stringify({ auth: { ...AUTH, password: "x" } }) })).status,
    ).toBe(401);

    const call = await create(app, "+49301000003");
    expect(call.status).toBe(503);
    expect(((await call.json()) as { errors: Record<string, string> }).errors.destination).toContain("the contacts table does not exist");
    // Nothing of the server's own was made in a database that may be the wrong one.
    expect(await dialect.existingColumns("phone_index")).toEqual([]);
    expect(errors).toEqual([]);

    await seed(dialect);
    await Bun.sleep(2_100); // the table's columns are asked of the database at most every 2 s
    expect((await app.request("/readyz")).status).toBe(200);
    const first = (await (await sync(app)).json()) as { contacts: { id: string }[] };
    expect(first.contacts.map((c) => c.id)).toEqual(CONTACTS.map((c) => c.$id));
    const found = await create(app, "+49301000003");
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ error: false, contactId: "C3", created: true });
  });
});

describe("a contacts table the sync has made but not yet filled", () => {
  test("the first sync's checkpoint is the start, so the contacts written next (with older change times) all come", async () => {
    const { app, dialect } = await build("unfilled.db");
    const target = new SqlTarget(dialect, "");
    await target.prepare([...FIELDS]);
    const first = await sync(app);
    expect(first.status).toBe(200);
    const answer = (await first.json()) as { contacts: unknown[]; synchronization_checkpoint: string };
    expect(answer.contacts).toEqual([]);
    // db_init writes each contact with its own change time, an hour ago here.
    await target.write({ contacts: CONTACTS });
    const next = (await (await sync(app, { synchronization_checkpoint: answer.synchronization_checkpoint })).json()) as {
      contacts: { id: string }[];
    };
    expect(next.contacts.map((c) => c.id)).toEqual(CONTACTS.map((c) => c.$id));
  });
});

describe("secrets in text bound for a log", () => {
  test("a token nobody registered, query-string values, token=/password= pairs and URL passwords are masked by shape", () => {
    const token = newToken();
    const lines = [
      `Failed to construct 'Request': Invalid URL "*?token=${token}"`,
      `Invalid URL "/direct/items/phonecalls/create?source=1&token=${token}"`,
      `the token ${token} was refused`,
      `{"token":"${token}"}`,
      `DBSYNC_PHONECALLS_TOKENS=${token},another-secret-token`,
      "postgres://user:hunter2-pass@db.example/sync?sslmode=require&password=other-pass",
      "mysql//user:hunter2-pass@host/db",
      "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
    ];
    for (const line of lines) {
      for (const masked of [maskSecretShapes(line), redact(line)]) {
        expect(masked).not.toContain(token);
        expect(masked).not.toContain("hunter2-pass");
        expect(masked).not.toContain("other-pass");
        expect(masked).not.toContain("another-secret-token");
        expect(masked).not.toContain("abcdefghijklmnop");
        expect(masked).toContain("***");
      }
    }
    // What is no secret stays readable.
    expect(maskSecretShapes("GET /talkdesk/contact_sync 200 3 ms; table dbs_contacts; the password must not be empty")).toBe(
      "GET /talkdesk/contact_sync 200 3 ms; table dbs_contacts; the password must not be empty",
    );
    for (const prose of [
      "an HTTP target needs the service's token: --token or DBSYNC_TOKEN",
      "--webhook-secret: the webhook secret must be whsec_ and base64",
      "Access denied for user 'x'@'h' (using password: YES)",
    ]) {
      expect(maskSecretShapes(prose)).toBe(prose);
    }
  });
});

describe("secrets in the edge runtime's log", () => {
  test("a failure naming a URL with a token is written to the console masked", async () => {
    const token = newToken();
    const written: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void written.push(args.map(String).join(" "));
    try {
      const handle = edgeHandler({
        env: {},
        open: async () => {
          throw new Error(`cannot open https://db.example/?authToken=eyJsecret-jwt-value&x=1 for ${token}`);
        },
      });
      expect((await handle(new Request("http://localhost/readyz"))).status).toBe(503);
    } finally {
      console.error = original;
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toContain("cannot open https://db.example/?authToken=***");
    expect(written[0]).not.toContain("eyJsecret-jwt-value");
    expect(written[0]).not.toContain(token);
  });
});
