// `dbsync phonecalls push` end to end: a real MariaDB holding an Asterisk `cdr` table, pushed to a real
// `dbsync serve` over HTTP, and straight into a database; what is stored must match the CDR rows of
// the window after rewriting, with the right contacts, and a second run creates nothing.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { wallTime, zonedInstant } from "../src/core/phonecalls/cdr.ts";
import type { Dialect } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { openDialect } from "../src/dialects/index.ts";
import { type FreshDatabase, freshDatabase } from "./helpers/databases.ts";
import { CLI, runCli, tempDir, serveUrl } from "./helpers/run.ts";

setDefaultTimeout(120_000);

const ZONE = "America/Caracas";
const TOKEN = "push-token-0123456789";
const RULES = ["--rewrite", "^9(\\d{7})$=0212$1", "--rewrite", "^9(.*)$=$1"];

const CONTACTS = [
  { $id: "c-caracas", $md5: "m", $changed: "2026-01-01T00:00:00Z", $phone: "+58 212 2853348" },
  { $id: "c-mobile", $md5: "m", $changed: "2026-01-01T00:00:00Z", $phone: "+58 414 1234567" },
];

/** CDR rows: [days ago, local time, src, dst, duration, channel]. */
const now = new Date();
const day = (daysAgo: number, time: string) => `${wallTime(new Date(now.getTime() - daysAgo * 86_400_000), ZONE).slice(0, 10)} ${time}`;
const ROWS: [string, string, string, number, string][] = [
  [day(1, "09:15:00"), "7222", "92853348", 45, "SIP/7222-0001"], // → 02122853348, Caracas
  [day(2, "23:59:30"), "7223", "904141234567", 120, "SIP/7223-0002"], // → 04141234567, the mobile
  [day(3, "00:00:05"), "7224", "02122853348", 10, "SIP/7224-0003"], // already national
  [day(5, "12:00:00"), "7225", "95550000", 3, "SIP/7225-0004"], // → 02125550000: nobody's
  [day(6, "08:00:00"), "7226", "7222", 30, "SIP/7226-0005"], // internal: too short, not read
  [day(40, "10:00:00"), "7227", "92853348", 60, "SIP/7227-0006"], // outside a 30-day window
];

let asterisk: FreshDatabase;
let cdr: Dialect;
const dir = tempDir("push");
const contactsUrl = `file:${join(dir, "contacts.db")}`;
let server: Subprocess<"ignore", "pipe", "pipe">;
let base = "";

async function contactsDatabase(url: string): Promise<void> {
  const dialect = await openDialect(url);
  const target = new SqlTarget(dialect, "");
  await target.prepare([]);
  await target.write({ contacts: CONTACTS });
  await target.close();
}

beforeAll(async () => {
  asterisk = await freshDatabase("mysql");
  cdr = await openDialect(asterisk.url);
  // The standard columns of Asterisk's cdr_mysql table.
  await cdr.run(`CREATE TABLE cdr (
    calldate datetime NOT NULL, clid varchar(80) NOT NULL DEFAULT '', src varchar(80) NOT NULL DEFAULT '',
    dst varchar(80) NOT NULL DEFAULT '', dcontext varchar(80) NOT NULL DEFAULT '', channel varchar(80) NOT NULL DEFAULT '',
    dstchannel varchar(80) NOT NULL DEFAULT '', lastapp varchar(80) NOT NULL DEFAULT '', lastdata varchar(80) NOT NULL DEFAULT '',
    duration int NOT NULL DEFAULT 0, billsec int NOT NULL DEFAULT 0, disposition varchar(45) NOT NULL DEFAULT '',
    amaflags int NOT NULL DEFAULT 0, accountcode varchar(20) NOT NULL DEFAULT '', uniqueid varchar(32) NOT NULL DEFAULT '',
    userfield varchar(255) NOT NULL DEFAULT '', recordingfile varchar(255) NOT NULL DEFAULT '')`);
  for (const [i, [calldate, src, dst, duration, channel]] of ROWS.entries()) {
    await cdr.run("INSERT INTO cdr (calldate, src, dst, duration, channel, uniqueid, disposition) VALUES (?, ?, ?, ?, ?, ?, 'ANSWERED')", [
      calldate,
      src,
      dst,
      duration,
      channel,
      `1700000000.${i}`,
    ]);
  }
  await contactsDatabase(contactsUrl);
  server = Bun.spawn(["bun", CLI, "serve", "--url", contactsUrl, "--state", `file:${dir}/state.db`, "--port", "0", "--settle", "0"], {
    env: { ...process.env, DBSYNC_PHONECALLS_TOKENS: TOKEN },
    stdout: "pipe",
    stderr: "pipe",
  });
  base = await serveUrl(server);
});

afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  await cdr?.close();
  await asterisk?.drop();
});

function push(target: string, ...extra: string[]) {
  return runCli(
    [
      "phonecalls",
      "push",
      "--cdr",
      asterisk.url,
      "--target",
      target,
      "--full",
      "--days",
      "30",
      "--cdr-timezone",
      ZONE,
      ...RULES,
      "--recording-url",
      "http://pbx/recordings/{channel}",
      ...extra,
    ],
    { env: { DBSYNC_TOKEN: TOKEN } },
  );
}

async function storedCalls(url: string) {
  const dialect = await openDialect(url);
  try {
    const rows = await dialect.all<Record<string, unknown>>(
      'SELECT "initiated", "source", "destination", "duration", "url", "contact_id" FROM "phonecalls" ORDER BY "initiated"',
    );
    return rows.map((r) => ({ ...r, duration: Number(r.duration) }));
  } finally {
    await dialect.close();
  }
}

/** What the CDR rows of the window should become. */
const EXPECTED = [
  [ROWS[2], "02122853348", "c-caracas"],
  [ROWS[1], "04141234567", "c-mobile"],
  [ROWS[0], "02122853348", "c-caracas"],
]
  .map(([row, destination, contact]) => {
    const [calldate, src, , duration, channel] = row as (typeof ROWS)[number];
    return {
      initiated: zonedInstant(calldate, ZONE).toISOString(),
      source: src,
      destination,
      duration,
      url: `http://pbx/recordings/${encodeURIComponent(channel)}`,
      contact_id: contact,
    };
  })
  .sort((a, b) => a.initiated.localeCompare(b.initiated));

describe("push to a real dbsync serve over HTTP", () => {
  test("the calls of the window, rewritten, local times as instants, with their contacts; the unknown one reported", async () => {
    const result = await push(base);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stdout).toContain("4 calls, 3 created, 0 already present, 1 rejected, 0 failed");
    expect(result.stdout).toContain("rejected 1: destination: no contact has this destination number");
    expect(await storedCalls(contactsUrl)).toEqual(EXPECTED);
  });

  test("a second run creates nothing", async () => {
    const result = await push(base);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("4 calls, 0 created, 3 already present, 1 rejected, 0 failed");
    expect(await storedCalls(contactsUrl)).toEqual(EXPECTED);
  });

  test("an unreachable target, something else than the service, a wrong token: one line, exit 1", async () => {
    const down = await push("http://127.0.0.1:1");
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).toContain("cannot reach the target http://127.0.0.1:1");
    const elsewhere = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<h1>Not Found</h1>", { status: 404 }) });
    const wrong = await push(`http://127.0.0.1:${elsewhere.port}/wrong/prefix`);
    elsewhere.stop(true);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);
    expect(wrong.stderr).toContain("is not a phonecalls service (HTTP 404");
    const refused = await runCli(["phonecalls", "push", "--cdr", asterisk.url, "--target", base, "--token", "wrong-token-value"]);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: "error: the target refused the token (HTTP 401)\n" });
  });
});

describe("push straight into a database", () => {
  test("the same calls, with no HTTP in between; a second run creates none", async () => {
    const url = `file:${join(dir, "direct.db")}`;
    await contactsDatabase(url);
    const first = await push(url);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(first.stdout).toContain("4 calls, 3 created, 0 already present, 1 rejected, 0 failed");
    expect(await storedCalls(url)).toEqual(EXPECTED);
    const second = await push(url);
    expect(second.stdout).toContain("4 calls, 0 created, 3 already present, 1 rejected, 0 failed");
  });
});

test("an incremental run reads only the last hours", async () => {
  const recent = wallTime(new Date(Date.now() - 30 * 60_000), ZONE);
  await cdr.run(
    "INSERT INTO cdr (calldate, src, dst, duration, channel, uniqueid) VALUES (?, '7230', '92853348', 5, 'SIP/7230-0009', 'recent')",
    [recent],
  );
  const result = await runCli(["phonecalls", "push", "--cdr", asterisk.url, "--target", base, "--cdr-timezone", ZONE, ...RULES], {
    env: { DBSYNC_TOKEN: TOKEN },
  });
  expect(result.code).toBe(0);
  expect(result.stdout).toContain("1 calls, 1 created, 0 already present, 0 rejected, 0 failed");
});

test("transient failures of the target are tried again; every call arrives once created", async () => {
  let posts = 0;
  const flaky = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (request.method !== "POST") return Response.json({ error: true, errors: { initiated: "initiated is required" } }, { status: 400 });
      await request.text();
      posts++;
      // Every other request fails as a restarting server would.
      return posts % 2 === 1
        ? new Response("bad gateway", { status: 502 })
        : Response.json({ error: false, contactId: "c", phonecallId: posts, created: true });
    },
  });
  try {
    const result = await push(`http://127.0.0.1:${flaky.port}`, "--concurrency", "1");
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    // The four of the window and the recent one of the incremental test.
    expect(result.stdout).toContain("5 calls, 5 created, 0 already present, 0 rejected, 0 failed");
    expect(posts).toBe(10);
  } finally {
    flaky.stop(true);
  }
});

test("progress every 1,000 calls; more calls than a page (5,000), all at one calldate, each read once", async () => {
  const url = `file:${join(dir, "progress.db")}`;
  await contactsDatabase(url);
  const calldate = day(4, "10:00:00");
  const values = Array.from(
    { length: 6000 },
    (_, i) => `('${calldate}', '${10000 + i}', '92853348', 1, 'bulk-${String(i).padStart(5, "0")}')`,
  ).join(", ");
  await cdr.run(`INSERT INTO cdr (calldate, src, dst, duration, uniqueid) VALUES ${values}`);
  try {
    // Every call of the window (the other tests may have added some), one of them nobody's.
    const [{ n }] = (await cdr.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM cdr WHERE LENGTH(dst) >= 7 AND calldate >= NOW() - INTERVAL 30 DAY",
    )) as [{ n: number }];
    const result = await push(url, "--concurrency", "8");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/processing 1000 \(total: \d+s lap: \d+s\)/);
    expect(Number(n)).toBeGreaterThan(6000);
    expect(result.stdout).toContain(`${n} calls, ${Number(n) - 1} created, 0 already present, 1 rejected, 0 failed`);
  } finally {
    await cdr.run("DELETE FROM cdr WHERE uniqueid LIKE 'bulk-%'");
  }
});
