// Output cut short by its reader (`dbsync … | head -1`, `| true`) ends quietly: no EPIPE stack trace,
// exit 0 for what has nothing left to do, 141 (as for SIGPIPE) for work that was running and stopped.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { OutboxCandidate } from "../src/core/webhook/outbox.ts";
import { openStateStore } from "../src/state/open.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { CLI, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(60_000);

const TOKEN = "pipe-token-abcdefghijklmnopqrstuvwxyz";
const CAMPAIGN = "PIPECAMPAIGN0001";
let sim: RunningSimulator;
let dir: string;
let state: string;

beforeAll(async () => {
  sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 30, seed: 9 });
  dir = tempDir("pipe");
  state = `file:${join(dir, "state.db")}`;
  // Enough tokens and dead letters that their listing outgrows a pipe's buffer.
  const store = await openStateStore(state);
  for (let i = 0; i < 300; i++) await store.tokens.add(`pbx ${i}`);
  const candidates: OutboxCandidate[] = Array.from({ length: 300 }, (_, i) => ({
    contactId: `contact-${i}`,
    transactionId: `tx-${i}`,
    fired: "2026-03-01T00:00:00.000Z",
    hash: `h${i}`,
    history: false,
    body: (kind) => JSON.stringify({ i, kind, padding: "x".repeat(500) }),
  }));
  await store.outbox.enqueue({ campaign: CAMPAIGN }, candidates, [], { url: "https://example.com/hook", floor: undefined, signed: false });
  for (const entry of await store.outbox.due({}, Date.now() + 1000, 1000)) {
    await store.outbox.deadLetter(entry.id, 3, "HTTP 503", new Date());
  }
  await store.close();
});
afterAll(() => sim.stop());

/** Runs dbsync with its stdout into `reader` (a shell command); its own exit code and stderr. */
async function piped(argv: string[], reader: string): Promise<{ code: number; stderr: string }> {
  const quoted = ["bun", CLI, ...argv].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(" ");
  const child = Bun.spawn(["bash", "-c", `${quoted} | ${reader}; exit "\${PIPESTATUS[0]}"`], {
    env: { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, "data"), DBSYNC_LOG_DIR: join(dir, "logs") },
    stdout: "ignore",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  return { code, stderr };
}

function expectQuiet(result: { code: number; stderr: string }, code: number): void {
  expect(result.stderr).not.toContain("EPIPE");
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.code).toBe(code);
}

describe("a reader that leaves", () => {
  test("one-shot commands end quietly with exit 0", async () => {
    for (const reader of ["true", "head -1"]) {
      expectQuiet(await piped(["--help"], reader), 0);
      expectQuiet(await piped(["--version"], reader), 0);
      expectQuiet(await piped(["webhook", "failed", "--json", "--state", state], reader), 0);
      expectQuiet(await piped(["webhook", "failed", "--state", state], reader), 0);
      expectQuiet(await piped(["tokens", "list", "--state", state], reader), 0);
    }
  });

  test("running work stops as on SIGTERM and ends with 141, without a word on stderr", async () => {
    expectQuiet(await piped(["simulate", "--port", "0"], "true"), 141);
    const sync = await piped([...flatFlags("db_sync", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--v"], "head -2");
    expectQuiet(sync, 141);
    expect(sync.stderr).toBe("");
  });

  test("a sync whose only stdout line was read goes on to the end", async () => {
    const result = await piped([...flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/init.db`, `file:${dir}/s.db`)], "head -1");
    expectQuiet(result, 0);
    expect(result.stderr).toContain("db_init finished");
  });
});

test("tokens add whose output nobody reads leaves no valid token behind", async () => {
  const result = await piped(["tokens", "add", "--label", "nobody saw it", "--state", state], "true");
  expect(result.code).not.toBe(0);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain("added");
  const store = await openStateStore(state);
  const unseen = (await store.tokens.list()).filter((record) => record.label === "nobody saw it");
  await store.close();
  expect(unseen).toHaveLength(1);
  expect(unseen[0]?.revokedAt).not.toBeNull();
});
