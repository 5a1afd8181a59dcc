// The Worker over a libSQL server on a slow network. workerd cancels the I/O of a request once it is
// answered or its client hangs up; a statement cut off so never settles. Nothing may wait for it:
// the next requests must be answered, and the phone index built by a lookup that outlived its
// request must go on (Workers' waitUntil) rather than stall every later lookup.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { SqlTarget } from "../src/core/sql/target.ts";
import { createLibsqlDialect } from "../src/dialects/sqlite/libsql-node.ts";
import { type RunningSqld, startSqld } from "./helpers/sqld.ts";
import { type RunningWorker, startWorker } from "./helpers/worker.ts";

setDefaultTimeout(120_000);

const TOKEN = "edge-token-0123456789";
const CONTACTS = 1500;

let sqld: RunningSqld;
let proxy: ReturnType<typeof Bun.serve>;
let worker: RunningWorker;
/** Added to every request to the database server. */
let delayMs = 0;

beforeAll(async () => {
  sqld = await startSqld();
  proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      await Bun.sleep(delayMs);
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      headers.delete("accept-encoding");
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      const answer = await fetch(`${sqld.url}${url.pathname}${url.search}`, { method: request.method, headers, body });
      const answerHeaders = new Headers(answer.headers);
      for (const name of ["content-encoding", "content-length", "transfer-encoding"]) answerHeaders.delete(name);
      return new Response(await answer.arrayBuffer(), { status: answer.status, headers: answerHeaders });
    },
  });
  const database = await createLibsqlDialect(`${sqld.url}?authToken=${sqld.token}`);
  const target = new SqlTarget(database, "");
  await target.prepare([{ name: "name", type: "field", fieldType: "text", deleted: false }]);
  await target.write({
    contacts: Array.from({ length: CONTACTS }, (_, i) => ({
      $id: `c${i}`,
      $md5: "m",
      $changed: "2026-01-01T08:00:00Z",
      $phone: `+49 30 ${1_000_000 + i}`,
      name: `n${i}`,
    })),
  });
  await database.close();
  worker = await startWorker({
    DBSYNC_PHONECALLS_TOKENS: TOKEN,
    DBSYNC_URL: `http://127.0.0.1:${proxy.port}`,
    DBSYNC_AUTH_TOKEN: sqld.token,
  });
});

afterAll(async () => {
  await worker?.mf.dispose();
  proxy?.stop(true);
  await sqld?.stop();
});

async function status(path: string, init: RequestInit = {}): Promise<number> {
  const answer = await fetch(`${worker.url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  await answer.arrayBuffer();
  return answer.status;
}

const create = (second: number) =>
  status(
    `/direct/items/phonecalls/create?token=${TOKEN}&initiated=2026-02-01T10:00:${String(second).padStart(2, "0")}Z&source=200&destination=030${1_000_007}`,
  );

describe("the Worker over libSQL on a slow network", () => {
  test("a client that hangs up mid-query does not hold up the next requests", async () => {
    expect(await status("/readyz")).toBe(200);
    delayMs = 1000;
    // both wait for the database when their clients give up
    for (const path of ["/readyz", `/direct/items/phonecalls/delete?token=${TOKEN}&from=2026-01-01&to=2026-01-03`]) {
      await fetch(`${worker.url}${path}`, { signal: AbortSignal.timeout(300) }).catch(() => undefined);
    }
    delayMs = 0;
    expect(await status("/readyz")).toBe(200);
  });

  test("a first index build that outlives its request goes on, and later lookups are answered", async () => {
    delayMs = 300; // the build takes longer than the 5 s a lookup waits
    expect(await create(1)).toBe(503);
    delayMs = 0;
    const later: number[] = [];
    for (let second = 2; second < 10 && !later.includes(200); second++) {
      later.push(await create(second));
      if (!later.includes(200)) await Bun.sleep(1000);
    }
    expect(later).toContain(200);
    expect(await status("/readyz")).toBe(200);
  });
});
