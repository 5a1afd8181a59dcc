// 4. Server: requests per second and p99 latency under wrk for a phonecalls create (every request a
//    new call) and a Talkdesk page of 500 contacts out of `contacts` stored, next to a bare route of
//    the same process, in the same run (server-app.ts). The contacts go into a libSQL file by one
//    SQL statement; the tables and indexes are the sync's (SqlTarget).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SqlTarget } from "../../src/core/sql/target.ts";
import { openDialect } from "../../src/dialects/index.ts";
import { serveUrl } from "../../test/helpers/run.ts";
import { scratch } from "./children.ts";

const APP = resolve(import.meta.dir, "server-app.ts");
const TOKEN = "bench-phonecalls-token-0123456789";
/** Contacts per `$changed` second: pages cross stamps shared by many contacts. */
const PER_STAMP = 100;
const EPOCH = 1_700_000_000;

export interface RouteResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

export interface ServerResult {
  contacts: number;
  seedSeconds: number;
  phoneIndexBuildSeconds: number;
  bare: RouteResult;
  phonecallsCreate: RouteResult;
  talkdeskPage: RouteResult;
  /** One connection, pages one after the other, as Talkdesk syncs. */
  talkdeskSequential: RouteResult;
  /** phonecalls create rps / bare rps */
  createOfBare: number;
}

export function ensureWrk(): void {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (error) {
    // wrk prints its version and exits 1; only a missing binary is an error here
    if ((error as { code?: string }).code !== "ENOENT") return;
    execFileSync("bash", ["-c", "(apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null 2>&1"], {
      stdio: "inherit",
    });
  }
}

async function seed(url: string, contacts: number): Promise<number> {
  const started = performance.now();
  const dialect = await openDialect(url);
  await new SqlTarget(dialect, "").prepare([{ name: "name", type: "field", fieldType: "text", deleted: false }]);
  await dialect.run(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${contacts - 1})
     INSERT INTO contacts ("$id", "$md5", "$changed", "$phone", "name")
     SELECT printf('c%07d', i), lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%SZ', ${EPOCH} + i / ${PER_STAMP}, 'unixepoch'),
            '+49 30 ' || (10000000 + i), 'Contact ' || i FROM n`,
  );
  await dialect.close();
  return (performance.now() - started) / 1000;
}

function changedOf(i: number): string {
  return new Date((EPOCH + Math.floor(i / PER_STAMP)) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** wrk's Lua: each request a new call (its own `initiated` second) to a random contact's number. */
function createScript(contacts: number): string {
  return `
counter = 0
request = function()
  counter = counter + 1
  local initiated = os.date("!%Y-%m-%dT%H:%M:%SZ", 1800000000 + counter)
  local destination = "030" .. (10000000 + math.random(0, ${contacts - 1}))
  return wrk.format("GET", "/direct/items/phonecalls/create?token=${TOKEN}&initiated=" .. initiated .. "&source=100&destination=" .. destination .. "&duration=30")
end`;
}

/** wrk's Lua: Talkdesk's incremental sync from a random position, a page of 500 each. */
function talkdeskScript(contacts: number): string {
  const bodies = Array.from({ length: 200 }, () => {
    const i = Math.floor(Math.random() * (contacts - 1000));
    const body = JSON.stringify({
      auth: { username: "bench", password: "bench" },
      meta: { synchronization_checkpoint: `${changedOf(i)}/c${String(i).padStart(7, "0")}` },
    });
    return `[[${body}]]`;
  });
  return `
bodies = { ${bodies.join(",\n")} }
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  return wrk.format(nil, "/talkdesk/contact_sync", nil, bodies[math.random(1, #bodies)])
end`;
}

/** Eight connections at once, or one (Talkdesk asks for one page after the other). */
function wrk(url: string, seconds: number, script?: string, connections = 8): RouteResult {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency"];
  if (script) {
    const file = join(scratch("wrk"), "script.lua");
    writeFileSync(file, script);
    args.push("-s", file);
  }
  const out = execFileSync("wrk", [...args, url], { encoding: "utf8" });
  const ms = (label: string) => {
    const match = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (!match) throw new Error(`wrk printed no ${label}th percentile:\n${out}`);
    const value = Number(match[1]);
    return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0), p50Ms: ms("50"), p99Ms: ms("99"), requests, errors };
}

export async function serverBench(contacts: number, seconds: number): Promise<ServerResult> {
  ensureWrk();
  const url = `file:${scratch("server")}/contacts.db`;
  const seedSeconds = await seed(url, contacts);
  const started = performance.now();
  // DBSYNC_BENCH_PROFILE=DIR: a CPU profile of the server (markdown) into DIR, to see where time goes.
  const profile = process.env.DBSYNC_BENCH_PROFILE ? ["--cpu-prof-md", `--cpu-prof-dir=${process.env.DBSYNC_BENCH_PROFILE}`] : [];
  const child = Bun.spawn([process.execPath, ...profile, APP, url, TOKEN], { stdout: "pipe", stderr: "inherit" });
  try {
    const base = await serveUrl(child);
    // The first phone-index build must be done before creates are measured (503 until then).
    for (;;) {
      const answer = await fetch(
        `${base}/direct/items/phonecalls/create?token=${TOKEN}&initiated=2020-01-01T00:00:00Z&source=1&destination=03010000000`,
      );
      if (answer.status === 200) break;
      if (answer.status !== 503) throw new Error(`phonecalls create answered ${answer.status}: ${await answer.text()}`);
      await Bun.sleep(500);
    }
    const phoneIndexBuildSeconds = (performance.now() - started) / 1000;
    const only = process.env.DBSYNC_BENCH_ROUTE;
    const skipped: RouteResult = { requestsPerSecond: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN, requests: 0, errors: 0 };
    const bare = !only || only === "bare" ? wrk(`${base}/bare`, seconds) : skipped;
    const phonecallsCreate = !only || only === "create" ? wrk(base, seconds, createScript(contacts)) : skipped;
    const talkdeskPage = !only || only === "talkdesk" ? wrk(base, seconds, talkdeskScript(contacts)) : skipped;
    const talkdeskSequential = !only || only === "talkdesk" ? wrk(base, seconds, talkdeskScript(contacts), 1) : skipped;
    for (const [name, result] of Object.entries({ bare, phonecallsCreate, talkdeskPage, talkdeskSequential })) {
      if (result.errors > 0) throw new Error(`${name}: ${result.errors} of ${result.requests} requests failed`);
    }
    return {
      contacts,
      seedSeconds,
      phoneIndexBuildSeconds,
      bare,
      phonecallsCreate,
      talkdeskPage,
      talkdeskSequential,
      createOfBare: phonecallsCreate.requestsPerSecond / bare.requestsPerSecond,
    };
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}
