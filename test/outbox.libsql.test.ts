// The webhook outbox (src/core/state/outbox.ts) on libSQL: the shared conformance suite for a file
// database and for ":memory:", also through the state store as it opens today; the ids being the same
// in two separate stores, two stores on one file, and repairLines healing lines broken behind the
// outbox's back.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { OutboxCandidate } from "../src/core/webhook/outbox.ts";
import { openStateStore } from "../src/state/open.ts";
import { runOutboxConformance } from "./outbox-conformance.ts";
import { runOutboxSharing } from "./outbox-sharing.ts";

const dir = mkdtempSync(join(tmpdir(), "dbsync-outbox-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runOutboxConformance("libSQL file", () => openStateStore(`file:${join(dir, "state.db")}`));
runOutboxConformance("libSQL :memory:", () => openStateStore(":memory:"), { persistent: false });
runOutboxConformance("libSQL file of the state store", () => openStateStore(`file:${join(dir, "store.db")}`));
runOutboxSharing("libSQL file", () => openStateStore(`file:${join(dir, "state.db")}`));

describe("libSQL outbox", () => {
  const scope = { campaign: "C" };
  const options = { url: "https://receiver.example/hook", floor: undefined, signed: false };
  const version = (hash: string, transactionId = "t1", contactId = "c1"): OutboxCandidate => ({
    contactId,
    transactionId,
    hash,
    history: false,
    body: (state) => `{"hash":"${hash}","state":"${state}"}`,
  });

  /** The ids a fresh store gives the versions A, B, A of one transaction, in order. */
  async function idsInFreshStore(url: string): Promise<string[]> {
    const store = await openStateStore(url);
    try {
      for (const hash of ["A", "B", "A"]) await store.outbox.enqueue(scope, [version(hash)], [], options);
      const ids: string[] = [];
      for (
        let [entry] = await store.outbox.due({ scope }, Date.now(), 10);
        entry;
        [entry] = await store.outbox.due({ scope }, Date.now(), 10)
      ) {
        ids.push(entry.id);
        await store.outbox.delivered(entry.id, Date.now());
      }
      return ids;
    } finally {
      await store.close();
    }
  }

  test("the same versions get the same ids in separate stores (recording again after a crash)", async () => {
    const first = await idsInFreshStore(`file:${join(dir, "fresh-1.db")}`);
    const second = await idsInFreshStore(`file:${join(dir, "fresh-2.db")}`);
    const third = await idsInFreshStore(":memory:");
    expect(first).toHaveLength(3);
    expect(new Set(first).size).toBe(3);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
  });

  test("two stores opened on one file share the outbox", async () => {
    const url = `file:${join(dir, "shared.db")}`;
    const a = await openStateStore(url);
    const b = await openStateStore(url);
    try {
      await a.outbox.enqueue(scope, [version("A")], [{ id: "c1", md5: "m" }], { ...options, floor: "2026-01-01T00:00:00.000Z" });
      const [entry] = await b.outbox.due({ scope }, Date.now(), 10);
      expect(entry?.transactionId).toBe("t1");
      expect(await b.outbox.claim(entry?.id ?? "", Date.now(), Date.now() + 60_000)).toBe(true);
      expect(await a.outbox.claim(entry?.id ?? "", Date.now(), Date.now() + 60_000)).toBe(false);
      expect((await b.outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m");
      expect(await b.outbox.enqueue(scope, [version("A")], [], options)).toEqual({ new: 0, updated: 0, skipped: 1 });
      // Settling in one store makes the next of the contact due in the other.
      await a.outbox.enqueue(scope, [version("X", "t2")], [], options);
      expect(await b.outbox.due({ scope }, Date.now() + 120_000, 10)).toHaveLength(1);
      await a.outbox.delivered(entry?.id ?? "", 1000);
      expect((await b.outbox.due({ scope }, 1000, 10)).map((e) => e.transactionId)).toEqual(["t2"]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe("repairLines", () => {
    const NOW = Date.parse("2026-03-02T10:00:00.000Z");
    const FAR = NOW + 365 * 86_400_000;

    /**
     * A store with lines c1: t1, t2, t3 and c2: t4 in campaign C, and c9: t9 alone in campaign L; then
     * every delivery of c1 and of c9 is made to wait, as if the write that made the next one due had
     * been lost. Returns the store and a raw client on the same file.
     */
    async function brokenLines(name: string) {
      const url = `file:${join(dir, `${name}.db`)}`;
      const store = await openStateStore(url);
      await store.outbox.enqueue(
        scope,
        [version("h", "t1", "c1"), version("h", "t2", "c1"), version("h", "t3", "c1"), version("h", "t4", "c2")],
        [],
        options,
      );
      await store.outbox.enqueue({ campaign: "L" }, [version("h", "t9", "c9"), version("h", "t8", "c9")], [], options);
      const raw = createClient({ url });
      const waiting = await raw.execute("SELECT next_attempt_at FROM webhook_outbox WHERE transaction_id = 't2'");
      const sentinel = Number(waiting.rows[0]?.next_attempt_at);
      expect(sentinel).toBeGreaterThan(FAR);
      await raw.execute({
        sql: "UPDATE webhook_outbox SET next_attempt_at = ? WHERE contact_id IN ('c1', 'c9')",
        args: [sentinel],
      });
      raw.close();
      return store;
    }

    test("a contact whose pending deliveries all wait gets its oldest one due, the others stay behind", async () => {
      const store = await brokenLines("repair-1");
      try {
        const due = async (at: number) => (await store.outbox.due({ scope }, at, 10)).map((e) => e.transactionId).sort();
        expect(await due(FAR)).toEqual(["t4"]);
        await store.outbox.repairLines(NOW);
        expect(await due(NOW - 1)).toEqual(["t4"]);
        expect(await due(NOW)).toEqual(["t1", "t4"]);
        expect(await due(FAR)).toEqual(["t1", "t4"]);
        // The line then works as usual: t2 after t1, t3 after t2.
        const order: string[] = [];
        for (let i = 0; i < 5; i++) {
          const [next] = (await store.outbox.due({ scope }, FAR, 10)).filter((e) => e.contactId === "c1");
          if (!next) break;
          order.push(next.transactionId);
          await store.outbox.delivered(next.id, NOW);
        }
        expect(order).toEqual(["t1", "t2", "t3"]);
      } finally {
        await store.close();
      }
    });

    test("nextDueAt ignores deliveries that only wait; repairLines gives it a time again", async () => {
      const store = await brokenLines("repair-2");
      try {
        const lonely = { scope: { campaign: "L" } };
        expect(await store.outbox.pendingCount(lonely)).toBe(2);
        expect(await store.outbox.nextDueAt(lonely)).toBeUndefined();
        expect(await store.outbox.due(lonely, FAR, 10)).toEqual([]);
        await store.outbox.repairLines(NOW);
        expect(await store.outbox.nextDueAt(lonely)).toBe(NOW);
        expect((await store.outbox.due(lonely, NOW, 10)).map((e) => e.transactionId)).toEqual(["t9"]);
        // Running it again changes nothing: the line has its next one.
        await store.outbox.repairLines(NOW + 5000);
        expect((await store.outbox.due(lonely, FAR, 10)).map((e) => [e.transactionId, e.nextAttemptAt])).toEqual([["t9", NOW]]);
      } finally {
        await store.close();
      }
    });

    test("lines of the same contact in another campaign are repaired on their own", async () => {
      const url = `file:${join(dir, "repair-3.db")}`;
      const store = await openStateStore(url);
      try {
        await store.outbox.enqueue({ campaign: "A" }, [version("h", "a1", "c1"), version("h", "a2", "c1")], [], options);
        await store.outbox.enqueue({ campaign: "B" }, [version("h", "b1", "c1"), version("h", "b2", "c1")], [], options);
        const raw = createClient({ url });
        const sentinel = Number(
          (await raw.execute("SELECT next_attempt_at FROM webhook_outbox WHERE transaction_id = 'a2'")).rows[0]?.next_attempt_at,
        );
        await raw.execute({ sql: "UPDATE webhook_outbox SET next_attempt_at = ? WHERE transaction_id = 'b1'", args: [sentinel] });
        raw.close();
        await store.outbox.repairLines(NOW);
        expect((await store.outbox.due({}, FAR, 10)).map((e) => e.transactionId).sort()).toEqual(["a1", "b1"]);
      } finally {
        await store.close();
      }
    });
  });
});
