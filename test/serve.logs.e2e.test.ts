// `dbsync serve` as a real process, attacked over raw sockets the way fetch never would: requests
// whose URL cannot be built (no Host, a broken Host, CONNECT/OPTIONS targets) carrying a token made
// by `dbsync tokens add`, a client that hangs up mid-body, a database the sync has not written yet
// and then writes. Its answers, its log file and its console are read back: 400 not 500, one access
// line per request, never the token, and no checkpoint before the contacts table exists.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { NO_CONTACTS_TABLE } from "../src/server/talkdesk.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { CLI, runCli, serveUrl, syncInProcess, tempDir } from "./helpers/run.ts";
import { startSqld } from "./helpers/sqld.ts";

setDefaultTimeout(60_000);

const API_TOKEN = "logs-api-token-0123456789";
const CAMPAIGN = "LOGSCAMPAIGN0001";
const AUTH = { username: "talkdesk@example.com", password: "logs-s3cret-pass" };

const dir = tempDir("serve-logs");
const target = `file:${join(dir, "target.db")}`;
const stateUrl = `file:${join(dir, "state.db")}`;
const env = { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, "data"), DBSYNC_LOG_DIR: join(dir, "logs") };

let sim: RunningSimulator;
let server: Subprocess<"ignore", "pipe", "pipe">;
let token = "";
let base = "";
let port = 0;
let logFile = "";
let stdout = "";
let stderr = "";

/** One request written to its own connection as is; the status and body of the answer. */
function raw(request: string, hangUpAfterMs?: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1] ?? 0),
        body: received.slice(received.indexOf("\r\n\r\n") + 4),
      });
    };
    const timer = setTimeout(finish, hangUpAfterMs ?? 10_000);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const length = /\r\ncontent-length: *(\d+)/i.exec(received)?.[1];
      const end = received.indexOf("\r\n\r\n");
      if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
  });
}

async function readyz(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function contactSync(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/talkdesk/contact_sync`, { method: "POST", body: JSON.stringify({ auth: AUTH, meta: {} }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  sim = startSimulator({ campaignId: CAMPAIGN, token: API_TOKEN, contacts: 40, seed: 5 });
  const added = await runCli(["tokens", "add", "--state", stateUrl, "--label", "pbx"]);
  expect(added.code).toBe(0);
  token = /^dbs_\S+$/m.exec(added.stdout)?.[0] ?? "";
  expect(token.length).toBeGreaterThan(40);
  // A database file that exists but that the sync has not written (a new file, the wrong file).
  writeFileSync(join(dir, "target.db"), "");
  server = Bun.spawn(["bun", CLI, "serve", "--url", target, "--state", stateUrl, "--port", "0", "--settle", "1"], {
    env: { ...env, DBSYNC_TALKDESK_USERNAME: AUTH.username, DBSYNC_TALKDESK_PASSWORD: AUTH.password },
    stdout: "pipe",
    stderr: "pipe",
  });
  void (async () => {
    for await (const chunk of server.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  const reader = server.stdout.getReader();
  while (!/ on http:\/\/\S+.*\n/.test(stdout)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve ended: ${stdout}${stderr}`);
    stdout += new TextDecoder().decode(value);
  }
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stdout += new TextDecoder().decode(value);
    }
  })();
  base = / on (http:\/\/\S+)/.exec(stdout)?.[1] ?? "";
  port = Number(new URL(base).port);
  logFile = /^Logfile: (.+)$/m.exec(stdout)?.[1] ?? "";
});

afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  await sim?.stop();
});

describe("serve over raw sockets, a database not yet written, then written", () => {
  test("a file: URL naming no file is refused in one line with exit 2, and no file is made", async () => {
    const typo = join(dir, "typo.db");
    const result = await runCli(["serve", "--url", `file:${typo}`, "--port", "0"], { env, timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: --url: there is no database file ${typo}; serve reads the database the sync writes and never creates one\n`,
    );
    expect(existsSync(typo)).toBe(false);
  });

  test("the log file's path is printed at start, in the log folder, named for serve", () => {
    expect(logFile.startsWith(join(dir, "logs", "serve_"))).toBe(true);
    expect(existsSync(logFile)).toBe(true);
  });

  test("requests whose URL cannot be built: 400 with a JSON error, never 5xx", async () => {
    const q = `?token=${token}`;
    for (const request of [
      `GET /healthz${q} HTTP/1.0\r\n\r\n`,
      `GET /direct/items/phonecalls/create${q} HTTP/1.1\r\nHost: a b\r\n\r\n`,
      `GET /readyz${q} HTTP/1.1\r\nHost: [::1\r\n\r\n`,
      `GET /healthz${q} HTTP/1.1\r\nHost: \r\n\r\n`,
      "CONNECT * HTTP/1.1\r\nHost: x\r\n\r\n",
      "CONNECT a HTTP/1.1\r\nHost: x\r\n\r\n",
      `CONNECT *${q} HTTP/1.1\r\nHost: x\r\n\r\n`,
      // a body the body limit would read (chunked) on a target no URL can be made of
      `POST /direct/items/phonecalls/create${q} HTTP/1.1\r\nHost: a b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      `CONNECT *${q} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    ]) {
      const answer = await raw(request);
      expect({ request, status: answer.status }).toEqual({ request, status: 400 });
      expect(typeof (JSON.parse(answer.body) as { error: unknown }).error).toBe("string");
    }
  });

  test("a client that hangs up in the middle of its body is not an error", async () => {
    const partial = 'POST /talkdesk/contact_sync HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{"auth":\r\n';
    expect((await raw(partial, 300)).status).toBe(0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test("no contacts table: /readyz, the bridge and phonecall creation answer 503; no checkpoint is handed out", async () => {
    expect(await readyz()).toEqual({ status: 503, body: { ok: false, error: NO_CONTACTS_TABLE } });
    const page = await contactSync();
    expect(page).toEqual({ status: 503, body: { error: NO_CONTACTS_TABLE } });
    const query = new URLSearchParams({ token, initiated: "2026-03-05T10:00:00", source: "200", destination: "+49 30 1234567" });
    expect((await fetch(`${base}/direct/items/phonecalls/create?${query}`)).status).toBe(503);
  });

  test("once the sync has written the database, the same server is ready and serves every contact", async () => {
    const sync = ["--a", "db_init", "--c", CAMPAIGN, "--ct", API_TOKEN, "--api-url", sim.url, "--url", target, "--state", stateUrl];
    expect(await syncInProcess(sync)).toBe(0);
    await Bun.sleep(2_100); // the table's columns are asked again after 2 s; the settle time is 1 s
    expect(await readyz()).toEqual({ status: 200, body: { ok: true } });
    const page = await contactSync();
    expect(page.status).toBe(200);
    expect((page.body.contacts as unknown[]).length).toBe(40);
  });

  test("the log file holds one line per request (method, route, status, ms), the abort as such, and the token nowhere", async () => {
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const log = readFileSync(logFile, "utf8");
    const access = log.split("\n").filter((line) => / INFO (GET|POST|CONNECT) /.test(line));
    expect(access.length).toBeGreaterThanOrEqual(16);
    for (const line of access)
      expect(line).toMatch(
        /^\S+Z INFO [A-Z]+ (\/[a-z_/]*|unmatched) (\d{3} \d+(\.\d)? ms|aborted: the client closed the connection after \d+(\.\d)? ms)$/,
      );
    expect(access.filter((line) => / unmatched 400 /.test(line)).length).toBe(9);
    expect(log).toMatch(/ INFO POST \/talkdesk\/contact_sync aborted: the client closed the connection after /);
    expect(log).toMatch(/ INFO GET \/readyz 503 /);
    expect(log).toMatch(/ INFO GET \/direct\/items\/phonecalls\/create 503 /);
    expect(log).toMatch(/ INFO POST \/talkdesk\/contact_sync 200 /);
    for (const output of [log, stdout, stderr]) {
      expect(output).not.toContain(token);
      expect(output).not.toContain(token.slice(4, 24));
    }
    // Nothing reached the console as an error: the warning of the missing table only.
    expect(stderr.match(/^error: .*$/gm) ?? []).toEqual([]);
    expect(stderr).toContain("the contacts table contacts does not exist");
  });
});

test("--v: the log, access lines included, goes to stdout instead of a file", async () => {
  const child = Bun.spawn(["bun", CLI, "serve", "--url", target, "--state", stateUrl, "--port", "0", "--v"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = child.stdout.getReader();
  let out = "";
  const read = async (until: RegExp) => {
    while (!until.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve ended: ${out}`);
      out += new TextDecoder().decode(value);
    }
  };
  await read(/ on http:\/\/\S+.*\n/);
  const url = / on (http:\/\/\S+)/.exec(out)?.[1] ?? "";
  expect((await fetch(`${url}/healthz?token=${token}`)).status).toBe(200);
  await read(/GET \/healthz 200 /);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  expect(out).toStartWith("Logfile: stdout\n");
  expect(out).not.toContain(token);
});

test("a database that stops answering: 503, and the reason in the log file and on stderr, its token masked", async () => {
  const sqld = await startSqld();
  const child = Bun.spawn(["bun", CLI, "serve", "--url", `${sqld.url}?authToken=${sqld.token}`, "--state", stateUrl, "--port", "0"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const errors = new Response(child.stderr).text();
  try {
    const url = await serveUrl(child, () => errors);
    await sqld.stop();
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
  const files = readdirSync(join(dir, "logs")).filter((name) => name.startsWith("serve_"));
  const logs = files.map((name) => readFileSync(join(dir, "logs", name), "utf8")).join("");
  const logged = logs.split("\n").filter((line) => / ERROR /.test(line));
  expect(logged.length).toBeGreaterThan(0);
  expect(logs).toMatch(/ INFO GET \/readyz 503 /);
  expect((await errors).match(/^error: .*$/gm)?.length).toBe(logged.length);
  for (const output of [logs, await errors]) expect(output).not.toContain(sqld.token.slice(-20));
});
