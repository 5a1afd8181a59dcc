// The webhook outbox of the libSQL state store (src/core/outbox-libsql.ts): the shared conformance
// suite for a file database and for ":memory:", and the ids being the same in two separate stores.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OutboxCandidate } from "../src/core/outbox.ts";
import { openStateStore } from "../src/core/state-store.ts";
import { runOutboxConformance } from "./outbox-conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "dbsync-outbox-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runOutboxConformance("libSQL file", () => openStateStore(`file:${join(dir, "state.db")}`));
runOutboxConformance("libSQL :memory:", () => openStateStore(":memory:"), { persistent: false });

describe("libSQL outbox", () => {
  const scope = { campaign: "C", url: "https://receiver.example/hook" };
  const version = (hash: string): OutboxCandidate => ({
    contactId: "c1",
    transactionId: "t1",
    hash,
    history: false,
    body: (state) => `{"hash":"${hash}","state":"${state}"}`,
  });

  /** The ids a fresh store gives the versions A, B, A of one transaction, in order. */
  async function idsInFreshStore(url: string): Promise<string[]> {
    const store = await openStateStore(url);
    try {
      for (const hash of ["A", "B", "A"]) await store.outbox.enqueue(scope, [version(hash)], [], { floor: undefined, signed: false });
      const ids: string[] = [];
      for (let [entry] = await store.outbox.due({ scope }, Date.now(), 10); entry; [entry] = await store.outbox.due({ scope }, Date.now(), 10)) {
        ids.push(entry.id);
        await store.outbox.delivered(entry.id);
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
      await a.outbox.enqueue(scope, [version("A")], [{ id: "c1", md5: "m" }], { floor: "2026-01-01T00:00:00.000Z", signed: false });
      const [entry] = await b.outbox.due({ scope }, Date.now(), 10);
      expect(entry?.transactionId).toBe("t1");
      expect(await b.outbox.claim(entry?.id ?? "", Date.now(), Date.now() + 60_000)).toBe(true);
      expect(await a.outbox.claim(entry?.id ?? "", Date.now(), Date.now() + 60_000)).toBe(false);
      expect((await b.outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m");
      expect(await b.outbox.enqueue(scope, [version("A")], [], { floor: undefined, signed: false })).toEqual({
        new: 0,
        updated: 0,
        skipped: 1,
      });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
