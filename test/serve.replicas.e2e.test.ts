// Three real `dbsync serve` processes on one database, as behind a load balancer, while the sync keeps
// moving phone numbers from one contact to another: every phonecall create, whichever server gets
// it, must name the contact that has the number at that time (allowing for the settle time and the
// index's refresh interval), never a former owner; once the numbers stop moving, every server names
// every number's owner. On a libSQL file, PostgreSQL and MariaDB.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Row } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { openDialect } from "../src/dialects/index.ts";
import { type FreshDatabase, freshDatabase } from "./helpers/databases.ts";
import { CLI, serveUrl, tempDir } from "./helpers/run.ts";

setDefaultTimeout(120_000);

const TOKEN = "replicas-token-0123456789";
const SERVERS = 3;
const CONTACTS = 40;
/**
 * The contract the index relies on: a write commits within the settle time of the `$changed` it
 * stamps. Three servers and the writer share SQLite's one write lock on a busy machine: 2 s, not 1.
 */
const SETTLE_S = 2;
/**
 * How long after a write a server may still answer with the number's former owner: the settle
 * time, the second `$changed` is cut to, the index's refresh interval (2 s), and the time a refresh
 * step may wait for its turn on a busy machine (given per database below).
 */
const allowanceMs = (stepWaitMs: number) => SETTLE_S * 1000 + 1000 + 2000 + stepWaitMs;
const WRITING_MS = 12_000;
const SWAP_EVERY_MS = 400;
const CALLERS = 6;

const numberOf = (n: number) => `+49 30 5550${String(n).padStart(3, "0")}`;
const contactId = (i: number) => `c-${String(i).padStart(2, "0")}`;
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function contact(i: number, number: number, changed: string): Row {
  return { $id: contactId(i), $md5: `md5-${i}-${number}-${changed}`, $changed: changed, $phone: numberOf(number) };
}

/** A number's owners in time: who had it from the write that gave it (begun at `from`) until the write that took it committed. */
interface Ownership {
  owner: string;
  from: number;
  until: number;
}

/** A small deterministic random sequence: the same swaps on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function describeReplicas(name: string, stepWaitMs: number, database: () => Promise<{ url: string; drop(): Promise<void> }>): void {
  const ALLOWANCE_MS = allowanceMs(stepWaitMs);
  describe(`three serve processes on one ${name} database`, () => {
    const dir = tempDir("replicas");
    let db: { url: string; drop(): Promise<void> };
    const servers: Subprocess<"ignore", "pipe", "pipe">[] = [];
    const bases: string[] = [];
    /** What each server wrote to its console: its errors (a failed refresh among them) and warnings. */
    const consoles: string[] = [];
    let calls = 0;

    beforeAll(async () => {
      db = await database();
      const dialect = await openDialect(db.url);
      const target = new SqlTarget(dialect, "");
      await target.prepare([]);
      await target.write({ contacts: Array.from({ length: CONTACTS }, (_, i) => contact(i, i, "2026-01-01T00:00:00Z")) });
      await target.close();
      for (let n = 0; n < SERVERS; n++) {
        const server = Bun.spawn(
          [
            "bun",
            CLI,
            "serve",
            "--url",
            db.url,
            "--state",
            `file:${join(dir, `state-${n}.db`)}`,
            "--port",
            "0",
            "--settle",
            String(SETTLE_S),
          ],
          { env: { ...process.env, DBSYNC_PHONECALLS_TOKENS: TOKEN, DBSYNC_LOG_DIR: join(dir, "logs") }, stdout: "pipe", stderr: "pipe" },
        );
        servers.push(server);
        consoles.push("");
        const decoder = new TextDecoder();
        void (async () => {
          for await (const chunk of server.stderr) consoles[n] += decoder.decode(chunk);
        })();
        bases.push(await serveUrl(server, () => consoles[n] ?? ""));
      }
    });

    afterAll(async () => {
      for (const server of servers) server.kill("SIGTERM");
      await Promise.all(servers.map((server) => server.exited));
      await db?.drop();
    });

    /** A new call to `number` through server `n`: the status and the contact it was stored with. */
    async function create(n: number, number: number): Promise<{ status: number; contactId?: string }> {
      const response = await fetch(`${bases[n]}/direct/items/phonecalls/create`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: TOKEN, initiated: "2026-02-01T10:00:00", source: String(++calls), destination: numberOf(number) }),
      });
      const body = (await response.json()) as { contactId?: string };
      return { status: response.status, contactId: body.contactId };
    }

    test("creates spread over the servers find the number's owner at that time, never a former one", async () => {
      // The first build of each server's view: until then a create may be answered 503.
      for (let n = 0; n < SERVERS; n++) {
        while ((await create(n, 0)).status === 503) await Bun.sleep(100);
      }
      const owner = Array.from({ length: CONTACTS }, (_, i) => i);
      const history: Ownership[][] = owner.map((_, number) => [{ owner: contactId(number), from: 0, until: Number.POSITIVE_INFINITY }]);
      const dialect = await openDialect(db.url);
      const target = new SqlTarget(dialect, "");
      await target.prepare([]);
      const next = random(7);
      const start = Date.now();
      /** The longest time from a write's `$changed` to its commit: beyond the settle time, the test broke the contract. */
      let slowestWrite = 0;
      // The sync's side: every few hundred milliseconds two contacts swap their numbers, in one write.
      const writing = (async () => {
        while (Date.now() - start < WRITING_MS) {
          const a = Math.floor(next() * CONTACTS);
          const b = (a + 1 + Math.floor(next() * (CONTACTS - 1))) % CONTACTS;
          const [numberA, numberB] = [owner.indexOf(a), owner.indexOf(b)];
          const begun = Date.now();
          await target.write({ contacts: [contact(a, numberB, stamp(begun)), contact(b, numberA, stamp(begun))] });
          const committed = Date.now();
          slowestWrite = Math.max(slowestWrite, committed - Date.parse(stamp(begun)));
          for (const [number, to] of [
            [numberA, b],
            [numberB, a],
          ] as const) {
            (history[number]?.at(-1) as Ownership).until = committed;
            history[number]?.push({ owner: contactId(to), from: begun, until: Number.POSITIVE_INFINITY });
            owner[number] = to;
          }
          await Bun.sleep(SWAP_EVERY_MS);
        }
      })();
      // The PBX's side: calls to random numbers, each through the next server.
      const answers: { number: number; server: number; sent: number; answered: number; status: number; contactId?: string }[] = [];
      const callers = Array.from({ length: CALLERS }, async (_, caller) => {
        for (let call = caller; Date.now() - start < WRITING_MS; call += CALLERS) {
          const number = Math.floor(next() * CONTACTS);
          const sent = Date.now();
          const answer = await create(call % SERVERS, number);
          answers.push({ number, server: call % SERVERS, sent, answered: Date.now(), ...answer });
        }
      });
      await Promise.all([writing, ...callers]);
      await target.close();

      // Who may be named: the owners whose time overlaps the call's, the allowance added to its start.
      const possible = (answer: (typeof answers)[number]) =>
        (history[answer.number] as Ownership[]).filter((o) => o.from <= answer.answered && o.until + ALLOWANCE_MS >= answer.sent);
      // Each wrong answer with the number's owners, in milliseconds from the start: what a failure needs to be read.
      const wrong = answers
        .filter((answer) => answer.status !== 200 || !possible(answer).some((o) => o.owner === answer.contactId))
        .map(({ sent, answered, number, ...answer }) => ({
          ...answer,
          number,
          sent: sent - start,
          answered: answered - start,
          owners: (history[number] as Ownership[]).map((o) => `${o.owner} ${o.from && o.from - start}-${o.until - start}`),
        }));
      const certain = answers.filter((answer) => possible(answer).length === 1);

      // The numbers stand still: after the allowance every server names every number's owner.
      await Bun.sleep(ALLOWANCE_MS);
      const final: string[] = [];
      for (let number = 0; number < CONTACTS; number++) {
        for (let n = 0; n < SERVERS; n++) {
          const answer = await create(n, number);
          if (answer.status !== 200 || answer.contactId !== contactId(owner[number] as number)) {
            final.push(
              `${numberOf(number)} on server ${n}: ${answer.status} ${answer.contactId}, owner ${contactId(owner[number] as number)}`,
            );
          }
        }
      }
      expect({ writesWithinSettle: slowestWrite < SETTLE_S * 1000 ? true : slowestWrite, wrong, final }).toEqual({
        writesWithinSettle: true,
        wrong: [],
        final: [],
      });
      expect({ calls: answers.length > 100, swaps: history.flat().length - CONTACTS > 20, certain: certain.length > 50 }).toEqual({
        calls: true,
        swaps: true,
        certain: true,
      });
      expect(consoles.flatMap((text) => text.split("\n").filter((line) => /error/i.test(line)))).toEqual([]);
    });
  });
}

// On a libSQL file the three servers' refresh steps queue for SQLite's one write lock behind the
// thousands of creates of this test: a step may wait several seconds (seen: 8 s in a full CI run). A
// number named by a lasting wrong entry is still caught by the final check after the allowance.
describeReplicas("libSQL file", 10_000, async () => {
  const dir = tempDir("replicas-db");
  return { url: `file:${join(dir, "contacts.db")}`, drop: async () => {} };
});
describeReplicas("PostgreSQL", 2_000, (): Promise<FreshDatabase> => freshDatabase("postgres"));
describeReplicas("MariaDB", 2_000, (): Promise<FreshDatabase> => freshDatabase("mysql"));
