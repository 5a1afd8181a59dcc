// One suite for every WebhookOutbox (src/core/webhook/outbox.ts), reached through a real StateStore: what
// enqueue records (new/updated/skipped, webhook ids, bodies, URLs, contact md5s, atomicity), the
// delivery line (only the oldest pending delivery of a contact is due; due, claim and leases,
// retries, dead letters, replays, repair), retargeting, the checkpoint floor, and, for stores `open`
// reaches again (`persistent`), that all of it survives closing and reopening.
// Every test works in a campaign of its own, so one file store can serve the whole suite.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  type DeliveryState,
  type OutboxCandidate,
  type OutboxEntry,
  type OutboxScope,
  type WebhookOutbox,
  webhookId,
} from "../src/core/webhook/outbox.ts";
import type { StateStore } from "../src/core/state/state.ts";

const runId = Math.random().toString(36).slice(2, 7);
let scopeCounter = 0;

/** A fixed clock for the line: the first delivery of a contact is recorded due at once. */
const NOW = Date.parse("2026-03-02T10:00:00.000Z");
/** A year later: anything pending and next in line is due by then, unless a retry or lease says otherwise. */
const FAR = NOW + 365 * 86_400_000;

const URL_A = "https://receiver.example/hook";
const URL_B = "https://moved.example/hook";

/** A candidate whose body tells which version and state it was made for, and which keeps its calls. */
function candidate(
  transactionId: string,
  hash: string,
  { contactId = "contact-1", history = false, fired }: { contactId?: string; history?: boolean; fired?: string } = {},
): OutboxCandidate & { calls: DeliveryState[] } {
  const calls: DeliveryState[] = [];
  return {
    contactId,
    transactionId,
    fired: fired ?? `2026-03-01T00:00:00.000Z`,
    hash,
    history,
    calls,
    body(state) {
      calls.push(state);
      return JSON.stringify({ transactionId, hash, state });
    },
  };
}

type EnqueueOptions = { url: string; floor: string | undefined; signed: boolean };
const plain: EnqueueOptions = { url: URL_A, floor: undefined, signed: false };

const bySeq = (entries: readonly OutboxEntry[]) => [...entries].sort((a, b) => a.seq - b.seq);
const sorted = (values: readonly string[]) => [...values].sort();

/** What the suite uses of a state store: its outbox, and checkpoints saved alongside. */
export type OutboxStoreUnderTest = Pick<StateStore, "outbox" | "getCheckpoint" | "setCheckpoint" | "close">;

export function runOutboxConformance(
  name: string,
  open: () => Promise<OutboxStoreUnderTest>,
  { persistent = true }: { persistent?: boolean } = {},
): void {
  describe(`webhook outbox conformance: ${name}`, () => {
    let store: OutboxStoreUnderTest;
    let outbox: WebhookOutbox;
    let scope: OutboxScope;
    /** Another campaign. */
    let otherCampaign: OutboxScope;

    beforeEach(async () => {
      store = await open();
      outbox = store.outbox;
      const campaign = `campaign-${runId}-${++scopeCounter}`;
      scope = { campaign };
      otherCampaign = { campaign: `${campaign}-other` };
    });

    afterEach(() => store.close());

    /** Everything due in the scope at `at`, with a generous limit. */
    const dueNow = (at = NOW) => outbox.due({ scope }, at, 1000);
    const ids = (entries: readonly OutboxEntry[]) => entries.map((e) => e.id);
    const transactionIds = (entries: readonly OutboxEntry[]) => entries.map((e) => e.transactionId);
    /** Transaction ids due at `at`, sorted: no order across contacts is promised. */
    const dueSet = async (at = NOW, selection: { scope?: OutboxScope; replayed?: boolean } = { scope }) =>
      sorted(transactionIds(await outbox.due(selection, at, 1000)));

    /** Records one candidate of a contact with nothing else pending, and returns its entry. */
    async function record(c: OutboxCandidate, options: EnqueueOptions = plain, at = scope) {
      const result = await outbox.enqueue(at, [c], [], options);
      expect(result.new + result.updated).toBe(1);
      const entry = (await outbox.due({ scope: at }, FAR, 1000)).find((e) => e.transactionId === c.transactionId);
      if (!entry) throw new Error(`${c.transactionId} is not first in line`);
      return entry;
    }

    /** Delivers whatever is due, one after the other, until nothing is; returns them in that order. */
    async function drain(at = NOW): Promise<OutboxEntry[]> {
      const seen: OutboxEntry[] = [];
      for (let entry = (await dueNow(at))[0]; entry; entry = (await dueNow(at))[0]) {
        seen.push(entry);
        await outbox.delivered(entry.id, at);
        if (seen.length > 100) throw new Error("the line does not end");
      }
      return seen;
    }

    describe("enqueue", () => {
      test("the first version of a transaction is recorded as new, with all its fields", async () => {
        const before = new Date().toISOString();
        const c = candidate("t1", "hash-a", { fired: "2026-03-01T08:00:00.000Z" });
        const result = await outbox.enqueue(scope, [c], [], { url: URL_A, floor: "2026-03-01T00:00:00.000Z", signed: true });
        expect(result).toEqual({ new: 1, updated: 0, skipped: 0 });
        const [entry, ...rest] = await dueNow();
        expect(rest).toEqual([]);
        expect(entry).toMatchObject({
          id: webhookId(scope, "t1", 1, "hash-a"),
          campaign: scope.campaign,
          url: URL_A,
          contactId: "contact-1",
          transactionId: "t1",
          version: 1,
          fired: "2026-03-01T08:00:00.000Z",
          state: "new",
          body: JSON.stringify({ transactionId: "t1", hash: "hash-a", state: "new" }),
          signed: true,
          status: "pending",
          attempts: 0,
          lastError: null,
          failedAt: null,
          superseded: false,
        });
        expect(entry?.nextAttemptAt).toBeLessThanOrEqual(NOW);
        expect(entry?.createdAt >= before.slice(0, 19)).toBe(true);
        expect(Number.isNaN(Date.parse(entry?.createdAt ?? ""))).toBe(false);
      });

      test("a transaction without fired is recorded with fired null", async () => {
        const c = { ...candidate("t1", "h"), fired: undefined };
        expect((await record(c)).fired).toBeNull();
      });

      test("an unsigned enqueue records signed false", async () => {
        expect((await record(candidate("t1", "h"))).signed).toBe(false);
      });

      test("each entry keeps the URL of its enqueue", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], { ...plain, url: URL_A });
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], { ...plain, url: URL_B });
        const urls = Object.fromEntries((await dueNow()).map((e) => [e.transactionId, e.url]));
        expect(urls).toEqual({ t1: URL_A, t2: URL_B });
      });

      test("a changed hash is recorded as updated, as version 2", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        const result = await outbox.enqueue(scope, [candidate("t1", "hash-b")], [], plain);
        expect(result).toEqual({ new: 0, updated: 1, skipped: 0 });
        const [first] = await dueNow();
        expect(first).toMatchObject({ version: 1, state: "new" });
        await outbox.delivered(first?.id ?? "", NOW);
        const [second] = await dueNow();
        expect(second).toMatchObject({ version: 2, state: "updated", id: webhookId(scope, "t1", 2, "hash-b") });
      });

      test("the same hash again is skipped, also after delivery", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain)).toEqual({ new: 0, updated: 0, skipped: 1 });
        expect(await outbox.pendingCount({ scope })).toBe(1);
        const [entry] = await dueNow();
        await outbox.delivered(entry?.id ?? "", NOW);
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain)).toEqual({ new: 0, updated: 0, skipped: 1 });
        expect(await outbox.pendingCount({ scope })).toBe(0);
      });

      test("the same version twice in one call is recorded once", async () => {
        const result = await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t1", "h")], [], plain);
        expect(result).toEqual({ new: 1, updated: 0, skipped: 1 });
        expect(await outbox.pendingCount({ scope })).toBe(1);
      });

      test("history never recorded before is skipped and leaves no version behind", async () => {
        const history = candidate("t1", "hash-a", { history: true });
        expect(await outbox.enqueue(scope, [history], [], plain)).toEqual({ new: 0, updated: 0, skipped: 1 });
        expect(history.calls).toEqual([]);
        expect(await outbox.pendingCount({ scope })).toBe(0);
        // No version was recorded: the same content found later (not as history) is new.
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain)).toEqual({ new: 1, updated: 0, skipped: 0 });
        expect((await dueNow())[0]?.version).toBe(1);
      });

      test("history of a transaction recorded before is updated", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        const history = candidate("t1", "hash-b", { history: true });
        expect(await outbox.enqueue(scope, [history], [], plain)).toEqual({ new: 0, updated: 1, skipped: 0 });
        expect(history.calls).toEqual(["updated"]);
      });

      test("history with the version already recorded is skipped", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-a", { history: true })], [], plain)).toEqual({
          new: 0,
          updated: 0,
          skipped: 1,
        });
      });

      test("body() is called once with the decided state, and not for skipped versions", async () => {
        const first = candidate("t1", "hash-a");
        const other = candidate("t2", "hash-x");
        await outbox.enqueue(scope, [first, other], [], plain);
        expect(first.calls).toEqual(["new"]);
        const second = candidate("t1", "hash-b");
        const same = candidate("t2", "hash-x");
        await outbox.enqueue(scope, [second, same], [], plain);
        expect(second.calls).toEqual(["updated"]);
        expect(same.calls).toEqual([]);
      });

      test("versions are kept per campaign: another campaign starts with new", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        expect(await outbox.enqueue(otherCampaign, [candidate("t1", "hash-a")], [], plain)).toEqual({ new: 1, updated: 0, skipped: 0 });
        expect(await outbox.pendingCount({ scope: otherCampaign })).toBe(1);
        expect(await outbox.pendingCount({ scope })).toBe(1);
      });

      // One webhook stream per campaign: a receiver that moves does not get everything again as new.
      test("versions do not depend on the URL: the same version for another URL is skipped, a new one is updated", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], { ...plain, url: URL_A });
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], { ...plain, url: URL_B })).toEqual({
          new: 0,
          updated: 0,
          skipped: 1,
        });
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-b")], [], { ...plain, url: URL_B })).toEqual({
          new: 0,
          updated: 1,
          skipped: 0,
        });
        const [first, second] = await drain();
        expect([first?.url, first?.version, second?.url, second?.version]).toEqual([URL_A, 1, URL_B, 2]);
      });

      test("enqueue with nothing records nothing", async () => {
        expect(await outbox.enqueue(scope, [], [], plain)).toEqual({ new: 0, updated: 0, skipped: 0 });
        expect(await outbox.pendingCount({ scope })).toBe(0);
      });
    });

    describe("webhook ids", () => {
      test("ids are derived from campaign, transaction and version", async () => {
        await outbox.enqueue(scope, [candidate("t1", "a")], [], plain);
        await outbox.enqueue(scope, [candidate("t1", "b")], [], plain);
        const recorded = ids(await drain());
        expect(recorded).toEqual([webhookId(scope, "t1", 1, "a"), webhookId(scope, "t1", 2, "b")]);
        expect(recorded[0]).toMatch(/^msg_[0-9a-f]{32}$/);
      });

      test("webhookId is deterministic and differs by campaign, transaction, version and content", () => {
        const id = webhookId({ campaign: "C" }, "t1", 1, "h");
        expect(webhookId({ campaign: "C" }, "t1", 1, "h")).toBe(id);
        const others = [
          webhookId({ campaign: "D" }, "t1", 1, "h"),
          webhookId({ campaign: "C" }, "t2", 1, "h"),
          webhookId({ campaign: "C" }, "t1", 2, "h"),
          webhookId({ campaign: "C" }, "t1", 1, "other"), // a state store started afresh, other content
        ];
        expect(new Set([id, ...others]).size).toBe(5);
      });

      test("the same versions in another campaign get other ids", async () => {
        const first = await record(candidate("t1", "a"));
        const elsewhere = await record(candidate("t1", "a"), plain, otherCampaign);
        expect(elsewhere.id).not.toBe(first.id);
      });

      test("the same version for another URL keeps its id", async () => {
        const first = await record(candidate("t1", "a"), { ...plain, url: URL_A });
        expect(first.id).toBe(webhookId(scope, "t1", 1, "a"));
        await outbox.enqueue(scope, [candidate("t1", "b")], [], { ...plain, url: URL_B });
        await outbox.delivered(first.id, NOW);
        expect((await dueNow())[0]?.id).toBe(webhookId(scope, "t1", 2, "b"));
      });

      test("A, B, A again in three enqueues are three deliveries with versions 1, 2, 3", async () => {
        for (const hash of ["A", "B", "A"]) await outbox.enqueue(scope, [candidate("t1", hash)], [], plain);
        expect(await outbox.pendingCount({ scope })).toBe(3);
        const seen = await drain();
        expect(seen.map((e) => [JSON.parse(e.body).hash, e.state, e.version])).toEqual([
          ["A", "new", 1],
          ["B", "updated", 2],
          ["A", "updated", 3],
        ]);
        expect(ids(seen)).toEqual([webhookId(scope, "t1", 1, "A"), webhookId(scope, "t1", 2, "B"), webhookId(scope, "t1", 3, "A")]);
      });

      test("A, B, A in one enqueue are three deliveries with distinct ids", async () => {
        const result = await outbox.enqueue(scope, [candidate("t1", "A"), candidate("t1", "B"), candidate("t1", "A")], [], plain);
        expect(result).toEqual({ new: 1, updated: 2, skipped: 0 });
        const seen = await drain();
        expect(seen.map((e) => e.version)).toEqual([1, 2, 3]);
        expect(new Set(ids(seen)).size).toBe(3);
      });

      // Once an id was derived from (hash, previous hash): the fourth version of A→B→A→B got the id
      // of the second and was dropped.
      test("A, B, A, B: the last version is delivered under a fresh id", async () => {
        for (const hash of ["A", "B", "A", "B"]) await outbox.enqueue(scope, [candidate("t1", hash)], [], plain);
        expect(await outbox.pendingCount({ scope })).toBe(4);
        const seen = await drain();
        expect(seen.map((e) => JSON.parse(e.body).hash)).toEqual(["A", "B", "A", "B"]);
        expect(new Set(ids(seen)).size).toBe(4);
      });
    });

    describe("contact md5s", () => {
      test("recorded md5s are read back; unknown contacts are absent", async () => {
        await outbox.enqueue(
          scope,
          [],
          [
            { id: "c1", md5: "m1" },
            { id: "c2", md5: "m2" },
          ],
          plain,
        );
        const known = await outbox.knownContactMd5(scope, ["c1", "c2", "c3"]);
        expect(Object.fromEntries(known)).toEqual({ c1: "m1", c2: "m2" });
      });

      test("a later enqueue replaces a contact's md5", async () => {
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m1" }], plain);
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "c1" })], [{ id: "c1", md5: "m2" }], plain);
        expect((await outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m2");
      });

      test("md5s are kept per campaign, not per URL", async () => {
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m1" }], { ...plain, url: URL_A });
        expect((await outbox.knownContactMd5(otherCampaign, ["c1"])).size).toBe(0);
        await outbox.enqueue(otherCampaign, [], [{ id: "c1", md5: "other" }], plain);
        expect((await outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m1");
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m2" }], { ...plain, url: URL_B });
        expect((await outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m2");
      });

      test("many ids at once are all looked up", async () => {
        const contacts = Array.from({ length: 1234 }, (_, i) => ({ id: `c${i}`, md5: `m${i}` }));
        await outbox.enqueue(scope, [], contacts, plain);
        const known = await outbox.knownContactMd5(
          scope,
          contacts.map((c) => c.id),
        );
        expect(known.size).toBe(1234);
        expect(known.get("c1233")).toBe("m1233");
      });

      test("no ids give an empty map", async () => {
        expect((await outbox.knownContactMd5(scope, [])).size).toBe(0);
      });

      test("forgetContacts clears the md5s of its campaign only, and nothing else", async () => {
        await outbox.enqueue(
          scope,
          [candidate("t1", "h", { contactId: "c1" })],
          [
            { id: "c1", md5: "m1" },
            { id: "c2", md5: "m2" },
          ],
          plain,
        );
        await outbox.enqueue(otherCampaign, [], [{ id: "c1", md5: "other" }], plain);
        await outbox.forgetContacts(scope);
        expect((await outbox.knownContactMd5(scope, ["c1", "c2"])).size).toBe(0);
        expect(Object.fromEntries(await outbox.knownContactMd5(otherCampaign, ["c1"]))).toEqual({ c1: "other" });
        // Deliveries and versions stay.
        expect(await outbox.pendingCount({ scope })).toBe(1);
        expect(await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "c1" })], [], plain)).toEqual({
          new: 0,
          updated: 0,
          skipped: 1,
        });
        // New md5s are recorded again afterwards.
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m3" }], plain);
        expect((await outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m3");
      });
    });

    describe("the delivery line", () => {
      /** c1: t1, t2; c2: t3; c1: t4 — recorded in that order, in one enqueue. */
      async function twoContacts() {
        await outbox.enqueue(
          scope,
          [
            candidate("t1", "h", { contactId: "c1" }),
            candidate("t2", "h", { contactId: "c1" }),
            candidate("t3", "h", { contactId: "c2" }),
            candidate("t4", "h", { contactId: "c1" }),
          ],
          [],
          plain,
        );
      }

      test("due gives only the oldest pending entry of each contact", async () => {
        await twoContacts();
        expect(await dueSet()).toEqual(["t1", "t3"]);
        // Not later either: the rest of c1 waits for t1, not for a time.
        expect(await dueSet(FAR)).toEqual(["t1", "t3"]);
      });

      test("a delivery recorded while an earlier one of its contact is pending is not due until that one settles", async () => {
        const first = await record(candidate("t1", "h", { contactId: "c1" }));
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "c1" })], [], plain);
        expect(await dueSet(FAR)).toEqual(["t1"]);
        // Not even while the first waits for its retry, nor after its lease would have ended.
        await outbox.claim(first.id, NOW, NOW + 30_000);
        await outbox.retryLater(first.id, 1, NOW + 60_000, "HTTP 503");
        expect(await dueSet(NOW + 59_999)).toEqual([]);
        expect(await dueSet(FAR)).toEqual(["t1"]);
        await outbox.delivered(first.id, NOW + 61_000);
        expect(await dueSet(NOW + 60_999)).toEqual([]);
        const [second, ...rest] = await dueNow(NOW + 61_000);
        expect(rest).toEqual([]);
        expect(second).toMatchObject({ transactionId: "t2", nextAttemptAt: NOW + 61_000 });
      });

      test("after a delivery the contact's next entry comes due at the time given", async () => {
        await twoContacts();
        const t1 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        await outbox.delivered(t1.id, NOW + 500);
        expect(await dueSet(NOW + 499)).toEqual(["t3"]);
        expect(await dueSet(NOW + 500)).toEqual(["t2", "t3"]);
        expect((await dueNow(NOW + 500)).find((e) => e.transactionId === "t2")?.nextAttemptAt).toBe(NOW + 500);
      });

      test("a contact's entries go out in recording order, one at a time", async () => {
        await twoContacts();
        const order: string[] = [];
        for (let round = 0; round < 10; round++) {
          const due = await dueNow();
          if (due.length === 0) break;
          expect(new Set(due.map((e) => e.contactId)).size).toBe(due.length);
          for (const entry of due) {
            order.push(entry.transactionId);
            await outbox.delivered(entry.id, NOW);
          }
        }
        expect(order.filter((t) => t !== "t3")).toEqual(["t1", "t2", "t4"]);
        expect(order).toContain("t3");
        expect(await outbox.pendingCount({ scope })).toBe(0);
      });

      test("seq grows in recording order", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], plain);
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], plain);
        const [a, b] = bySeq(await dueNow());
        expect(transactionIds([a, b] as OutboxEntry[])).toEqual(["t1", "t2"]);
        expect(b?.seq).toBeGreaterThan(a?.seq ?? Infinity);
      });

      test("due is ordered by the next attempt time", async () => {
        const a = await record(candidate("t1", "h", { contactId: "a" }));
        const b = await record(candidate("t2", "h", { contactId: "b" }));
        const c = await record(candidate("t3", "h", { contactId: "c" }));
        await outbox.retryLater(a.id, 1, NOW + 3000, "x");
        await outbox.retryLater(b.id, 1, NOW + 1000, "x");
        await outbox.retryLater(c.id, 1, NOW + 2000, "x");
        expect(transactionIds(await dueNow(NOW + 5000))).toEqual(["t2", "t3", "t1"]);
      });

      test("due respects the limit, taking the earliest", async () => {
        const many = Array.from({ length: 5 }, (_, i) => candidate(`t${i}`, "h", { contactId: `c${i}` }));
        await outbox.enqueue(scope, many, [], plain);
        expect(await outbox.due({ scope }, NOW, 2)).toHaveLength(2);
        const [t0] = bySeq(await dueNow());
        await outbox.retryLater(t0?.id ?? "", 1, NOW + 1000, "x");
        for (const entry of await dueNow()) await outbox.retryLater(entry.id, 1, NOW + 2000, "x");
        expect(transactionIds(await outbox.due({ scope }, NOW + 2000, 1))).toEqual(["t0"]);
      });

      test("an entry waiting for its retry is not due, nor anything after it for that contact", async () => {
        await twoContacts();
        const t1 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        await outbox.retryLater(t1.id, 1, NOW + 60_000, "HTTP 503");
        expect(await dueSet()).toEqual(["t3"]);
        expect(await dueSet(NOW + 59_999)).toEqual(["t3"]);
        expect(await dueSet(NOW + 60_000)).toEqual(["t1", "t3"]);
      });

      test("due keeps to its scope; the same contact in two campaigns is first in line in each", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "c1" })], [], plain);
        await outbox.enqueue(otherCampaign, [candidate("t3", "h", { contactId: "c1" })], [], plain);
        expect(transactionIds(await outbox.due({ scope }, NOW, 100))).toEqual(["t1"]);
        expect(transactionIds(await outbox.due({ scope: otherCampaign }, NOW, 100))).toEqual(["t3"]);
      });

      test("a dead letter no longer holds back the later entries of its contact, which come due at its time", async () => {
        await twoContacts();
        const t1 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        await outbox.deadLetter(t1.id, 5, "HTTP 500", new Date(NOW + 700));
        expect(await dueSet(NOW + 699)).toEqual(["t3"]);
        expect(await dueSet(NOW + 700)).toEqual(["t2", "t3"]);
      });

      test("settling an entry of one contact does not make another contact's waiting entry due", async () => {
        await twoContacts();
        const t3 = (await dueNow()).find((e) => e.transactionId === "t3") as OutboxEntry;
        await outbox.delivered(t3.id, NOW);
        expect(await dueSet(FAR)).toEqual(["t1"]);
      });

      test("settling an entry twice, or an unknown one, changes nothing", async () => {
        await twoContacts();
        const t1 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        await outbox.delivered(t1.id, NOW);
        const t2 = (await dueNow()).find((e) => e.transactionId === "t2") as OutboxEntry;
        await outbox.claim(t2.id, NOW, NOW + 30_000);
        await outbox.delivered(t1.id, NOW);
        await outbox.delivered("msg_unknown", NOW);
        // t2 is still claimed, and t4 still waits behind it.
        expect(await dueSet(NOW + 29_999)).toEqual(["t3"]);
        expect(await dueSet(NOW + 30_000)).toEqual(["t2", "t3"]);
      });

      test("nextDueAt ignores entries waiting behind another of their contact", async () => {
        const first = await record(candidate("t1", "h", { contactId: "c1" }));
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "c1" })], [], plain);
        await outbox.claim(first.id, NOW, NOW + 30_000);
        expect(await dueNow()).toEqual([]);
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 30_000);
        await outbox.retryLater(first.id, 1, NOW + 90_000, "x");
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 90_000);
      });

      test("repairLines leaves sound lines alone", async () => {
        await twoContacts();
        const t1 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        await outbox.claim(t1.id, NOW, NOW + 30_000);
        await outbox.repairLines(NOW);
        // t2 and t4 still wait behind the claimed t1; t1 keeps its lease.
        expect(await dueSet(NOW)).toEqual(["t3"]);
        expect(await outbox.claim(t1.id, NOW + 1, NOW + 60_000)).toBe(false);
        expect(await dueSet(NOW + 30_000)).toEqual(["t1", "t3"]);
        expect(await outbox.nextDueAt({ scope })).toBeLessThanOrEqual(NOW);
      });
    });

    describe("claims and outcomes", () => {
      async function one(): Promise<OutboxEntry> {
        return record(candidate("t1", "h"));
      }

      test("a claim is exclusive until its lease ends", async () => {
        const entry = await one();
        expect(await outbox.claim(entry.id, NOW, NOW + 30_000)).toBe(true);
        expect(await outbox.claim(entry.id, NOW, NOW + 30_000)).toBe(false);
        expect(await outbox.claim(entry.id, NOW + 29_999, NOW + 60_000)).toBe(false);
        expect(await outbox.claim(entry.id, NOW + 30_000, NOW + 60_000)).toBe(true);
      });

      test("an entry waiting behind another of its contact cannot be claimed", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain);
        expect(await outbox.claim(webhookId(scope, "t2", 1, "h"), FAR, FAR + 1000)).toBe(false);
        expect(await outbox.claim(webhookId(scope, "t1", 1, "h"), NOW, NOW + 1000)).toBe(true);
      });

      test("a claimed entry is not due until the lease ends, and blocks its contact", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain);
        const [entry] = await dueNow();
        await outbox.claim(entry?.id ?? "", NOW, NOW + 30_000);
        expect(await dueNow()).toEqual([]);
        expect(transactionIds(await dueNow(NOW + 30_000))).toEqual(["t1"]);
      });

      test("an entry not due yet, unknown, delivered or dead cannot be claimed", async () => {
        const entry = await one();
        await outbox.retryLater(entry.id, 1, NOW + 1000, "timeout");
        expect(await outbox.claim(entry.id, NOW, NOW + 30_000)).toBe(false);
        expect(await outbox.claim("msg_unknown", NOW, NOW + 30_000)).toBe(false);
        await outbox.deadLetter(entry.id, 2, "timeout", new Date(NOW));
        expect(await outbox.claim(entry.id, NOW + 2000, NOW + 30_000)).toBe(false);
        const other = await record(candidate("t2", "h", { contactId: "c2" }));
        await outbox.delivered(other.id, NOW);
        expect(await outbox.claim(other.id, NOW, NOW + 30_000)).toBe(false);
      });

      test("retryLater records attempts, next time and error", async () => {
        const entry = await one();
        await outbox.claim(entry.id, NOW, NOW + 30_000);
        await outbox.retryLater(entry.id, 3, NOW + 5000, "HTTP 502: bad gateway");
        expect(await dueNow()).toEqual([]);
        const [again] = await dueNow(NOW + 5000);
        expect(again).toMatchObject({ id: entry.id, attempts: 3, nextAttemptAt: NOW + 5000, lastError: "HTTP 502: bad gateway" });
        expect(again?.status).toBe("pending");
      });

      test("release gives a claimed entry back at once without counting an attempt", async () => {
        const entry = await one();
        await outbox.retryLater(entry.id, 2, NOW, "timeout");
        await outbox.claim(entry.id, NOW, NOW + 30_000);
        await outbox.release(entry.id, NOW + 10);
        const [again] = await dueNow(NOW + 10);
        expect(again).toMatchObject({ id: entry.id, attempts: 2, nextAttemptAt: NOW + 10 });
        expect(await outbox.claim(entry.id, NOW + 10, NOW + 30_000)).toBe(true);
      });

      test("release does not bring a dead letter back", async () => {
        const entry = await one();
        await outbox.deadLetter(entry.id, 5, "HTTP 500", new Date(NOW));
        await outbox.release(entry.id, NOW);
        expect(await outbox.pendingCount({ scope })).toBe(0);
        expect((await outbox.failed({ campaign: scope.campaign }))[0]?.status).toBe("failed");
      });

      test("delivered removes the entry from the outbox", async () => {
        const entry = await one();
        await outbox.claim(entry.id, NOW, NOW + 30_000);
        await outbox.delivered(entry.id, NOW);
        expect(await dueNow(FAR)).toEqual([]);
        expect(await outbox.pendingCount({ scope })).toBe(0);
        expect(await outbox.failed({ campaign: scope.campaign })).toEqual([]);
        expect(await outbox.nextDueAt({ scope })).toBeUndefined();
      });

      test("deadLetter moves the entry to the dead-letter list", async () => {
        const entry = await one();
        const at = new Date(NOW + 1234);
        await outbox.deadLetter(entry.id, 6, "HTTP 500: boom", at);
        expect(await dueNow(FAR)).toEqual([]);
        expect(await outbox.pendingCount({ scope })).toBe(0);
        const [dead, ...rest] = await outbox.failed({ campaign: scope.campaign });
        expect(rest).toEqual([]);
        expect(await outbox.failedCount({ campaign: scope.campaign })).toBe(1);
        expect(await outbox.failedCount({ campaign: `${scope.campaign}-other` })).toBe(0);
        expect(dead).toMatchObject({
          id: entry.id,
          status: "failed",
          attempts: 6,
          lastError: "HTTP 500: boom",
          failedAt: at.toISOString(),
          body: entry.body,
          url: URL_A,
          state: "new",
          version: 1,
          superseded: false,
        });
      });
    });

    describe("leases", () => {
      // An attempt that outlived its lease (a long Retry-After pause, a stalled process) must not
      // write over what the deliverer holding the delivery now did.
      test("outcomes written with an ended lease change nothing; with the current lease they do", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "c1" }), candidate("t2", "h", { contactId: "c1" })], [], plain);
        const [head] = await dueNow();
        const id = head?.id ?? "";
        expect(await outbox.claim(id, NOW, NOW + 1000)).toBe(true); // attempt A
        expect(await outbox.claim(id, NOW + 2000, NOW + 5000)).toBe(true); // A's lease ended: attempt B
        await outbox.retryLater(id, 3, NOW + 100, "A's late failure", NOW + 1000);
        await outbox.release(id, NOW, NOW + 1000);
        await outbox.deadLetter(id, 9, "A's late death", new Date(NOW), NOW + 1000);
        await outbox.delivered(id, NOW, NOW + 1000);
        expect(await dueNow(NOW + 4999)).toEqual([]);
        expect(await outbox.failed({ campaign: scope.campaign })).toEqual([]);
        expect(await outbox.pendingCount({ scope })).toBe(2);
        await outbox.deadLetter(id, 1, "B's failure", new Date(NOW + 3000), NOW + 5000);
        expect((await outbox.failed({ campaign: scope.campaign })).map((e) => e.lastError)).toEqual(["B's failure"]);
        // The late A after a replay of that dead letter: still nothing, and one next in line only.
        await outbox.revive({ ids: [id] }, NOW + 3000);
        await outbox.retryLater(id, 3, NOW + 100, "A's late failure", NOW + 1000);
        expect(await dueNow(NOW + 10_000)).toHaveLength(1);
      });
    });

    describe("settled", () => {
      test("tells delivered (gone), failed and pending apart", async () => {
        const a = await record(candidate("t1", "h", { contactId: "a" }));
        const b = await record(candidate("t2", "h", { contactId: "b" }));
        const c = await record(candidate("t3", "h", { contactId: "c" }));
        const d = await record(candidate("t4", "h", { contactId: "d" }));
        await outbox.delivered(a.id, NOW);
        await outbox.deadLetter(b.id, 3, "x", new Date(NOW));
        await outbox.retryLater(c.id, 1, NOW + 1000, "x");
        expect(await outbox.settled([a.id, b.id, c.id, d.id])).toEqual({ delivered: 1, failed: 1, pending: 2 });
        expect(await outbox.settled([b.id])).toEqual({ delivered: 0, failed: 1, pending: 0 });
        expect(await outbox.settled([])).toEqual({ delivered: 0, failed: 0, pending: 0 });
      });

      test("a replay that failed again counts as failed, one delivered since as delivered", async () => {
        const a = await record(candidate("t1", "h", { contactId: "a" }));
        const b = await record(candidate("t2", "h", { contactId: "b" }));
        await outbox.deadLetter(a.id, 3, "x", new Date(NOW));
        await outbox.deadLetter(b.id, 3, "x", new Date(NOW));
        const revived = await outbox.revive({ campaign: scope.campaign }, NOW);
        expect(sorted(revived)).toEqual(sorted([a.id, b.id]));
        expect(await outbox.settled(revived)).toEqual({ delivered: 0, failed: 0, pending: 2 });
        await outbox.deadLetter(a.id, 1, "again", new Date(NOW + 1));
        await outbox.delivered(b.id, NOW + 1);
        expect(await outbox.settled(revived)).toEqual({ delivered: 1, failed: 1, pending: 0 });
      });

      test("many ids at once", async () => {
        const many = Array.from({ length: 700 }, (_, i) => candidate(`t${i}`, "h", { contactId: `c${i}` }));
        await outbox.enqueue(scope, many, [], plain);
        const all = ids(await dueNow());
        expect(all).toHaveLength(700);
        await outbox.deadLetter(all[650] ?? "", 1, "x", new Date(NOW));
        expect(await outbox.settled([...all, "msg_gone"])).toEqual({ delivered: 1, failed: 1, pending: 699 });
      });
    });

    describe("retarget", () => {
      test("pending, not replayed entries of the campaign get the new URL; the count says how many", async () => {
        const a = await record(candidate("t1", "h", { contactId: "a" }), { ...plain, url: URL_A });
        const b = await record(candidate("t2", "h", { contactId: "b" }), { ...plain, url: URL_A });
        await outbox.enqueue(scope, [candidate("t3", "h", { contactId: "a" })], [], { ...plain, url: URL_A }); // waits behind t1
        const dead = await record(candidate("t4", "h", { contactId: "d" }), { ...plain, url: URL_A });
        const replayed = await record(candidate("t5", "h", { contactId: "e" }), { ...plain, url: URL_A });
        const elsewhere = await record(candidate("t6", "h", { contactId: "a" }), { ...plain, url: URL_A }, otherCampaign);
        await outbox.deadLetter(dead.id, 3, "x", new Date(NOW));
        await outbox.deadLetter(replayed.id, 3, "x", new Date(NOW));
        await outbox.revive({ ids: [replayed.id] }, NOW);
        await outbox.claim(b.id, NOW, NOW + 30_000);

        expect(await outbox.retarget(scope, URL_B)).toBe(3);
        await outbox.delivered(a.id, NOW);
        const urls = Object.fromEntries((await dueNow(FAR)).map((e) => [e.transactionId, e.url]));
        expect(urls).toEqual({ t2: URL_B, t3: URL_B, t5: URL_A });
        expect((await outbox.failed({ ids: [dead.id] }))[0]?.url).toBe(URL_A);
        expect((await outbox.due({ scope: otherCampaign }, NOW, 10))[0]).toMatchObject({ id: elsewhere.id, url: URL_A });
        // The claim was not disturbed.
        expect(await outbox.claim(b.id, NOW + 1, NOW + 60_000)).toBe(false);
      });

      test("entries already at the URL are not counted; nothing pending gives 0", async () => {
        expect(await outbox.retarget(scope, URL_B)).toBe(0);
        await record(candidate("t1", "h", { contactId: "a" }), { ...plain, url: URL_B });
        await record(candidate("t2", "h", { contactId: "b" }), { ...plain, url: URL_A });
        expect(await outbox.retarget(scope, URL_B)).toBe(1);
        expect(await outbox.retarget(scope, URL_B)).toBe(0);
      });

      test("retarget changes neither the ids nor the versions", async () => {
        const a = await record(candidate("t1", "h"), { ...plain, url: URL_A });
        await outbox.retarget(scope, URL_B);
        const [moved] = await dueNow();
        expect(moved).toMatchObject({ id: a.id, version: 1, body: a.body, url: URL_B });
      });
    });

    describe("dead letters and replays", () => {
      /** Three dead letters: t1 and t2 in `scope`, t3 in another campaign; failed at NOW, +1 h, +2 h. */
      async function threeDead(): Promise<OutboxEntry[]> {
        const entries = [
          await record(candidate("t1", "h", { contactId: "c1" })),
          await record(candidate("t2", "h", { contactId: "c2" })),
          await record(candidate("t3", "h", { contactId: "c3" }), plain, otherCampaign),
        ];
        for (const [i, entry] of entries.entries()) {
          await outbox.deadLetter(entry.id, 5, `error ${i}`, new Date(NOW + i * 3_600_000));
        }
        return entries;
      }

      test("failed filters by campaign", async () => {
        await threeDead();
        expect(transactionIds(await outbox.failed({ campaign: scope.campaign }))).toEqual(["t1", "t2"]);
        expect(transactionIds(await outbox.failed({ campaign: otherCampaign.campaign }))).toEqual(["t3"]);
      });

      test("failed filters by the time of dead-lettering, from `since` on", async () => {
        await threeDead();
        expect(transactionIds(await outbox.failed({ campaign: scope.campaign, since: new Date(NOW + 3_600_000) }))).toEqual(["t2"]);
        expect(transactionIds(await outbox.failed({ campaign: scope.campaign, since: new Date(NOW + 1) }))).toEqual(["t2"]);
        expect(await outbox.failed({ campaign: scope.campaign, since: new Date(NOW + 3_600_001) })).toEqual([]);
      });

      test("failed filters by ids; an empty id list matches nothing", async () => {
        const [t1, , t3] = await threeDead();
        expect(transactionIds(await outbox.failed({ ids: [t1?.id ?? "", t3?.id ?? ""] }))).toEqual(["t1", "t3"]);
        expect(await outbox.failed({ campaign: scope.campaign, ids: [] })).toEqual([]);
      });

      test("failed lists no pending entries", async () => {
        await record(candidate("t1", "h"));
        expect(await outbox.failed({ campaign: scope.campaign })).toEqual([]);
      });

      test("revive puts matching dead letters back in line with fresh attempts, and returns their ids", async () => {
        const [t1, t2, t3] = await threeDead();
        const revived = await outbox.revive({ ids: [t1?.id ?? ""] }, NOW + 10);
        expect(revived).toEqual([t1?.id ?? ""]);
        const [back, ...rest] = await outbox.due({ scope }, NOW + 10, 100);
        expect(rest).toEqual([]);
        expect(back).toMatchObject({ id: t1?.id, status: "pending", attempts: 0, nextAttemptAt: NOW + 10, failedAt: null, url: URL_A });
        expect(await outbox.due({ scope }, NOW + 9, 100)).toEqual([]);
        expect(ids(await outbox.failed({ campaign: scope.campaign }))).toEqual([t2?.id ?? ""]);
        expect(ids(await outbox.failed({ campaign: otherCampaign.campaign }))).toEqual([t3?.id ?? ""]);
      });

      test("revive by campaign and since", async () => {
        const [, t2] = await threeDead();
        expect(await outbox.revive({ campaign: scope.campaign, since: new Date(NOW + 1) }, NOW)).toEqual([t2?.id ?? ""]);
        expect(transactionIds(await outbox.failed({ campaign: scope.campaign }))).toEqual(["t1"]);
      });

      test("revive with a URL sends them there; without one they keep their recorded URL", async () => {
        const [t1, t2] = await threeDead();
        await outbox.revive({ ids: [t1?.id ?? ""] }, NOW, { url: URL_B });
        await outbox.revive({ ids: [t2?.id ?? ""] }, NOW);
        const urls = Object.fromEntries((await dueNow()).map((e) => [e.transactionId, e.url]));
        expect(urls).toEqual({ t1: URL_B, t2: URL_A });
      });

      test("revive touches no pending entry and returns nothing when nothing matches", async () => {
        const entry = await record(candidate("t1", "h"));
        await outbox.retryLater(entry.id, 2, NOW + 5000, "timeout");
        expect(await outbox.revive({ campaign: scope.campaign }, NOW, { url: URL_B })).toEqual([]);
        expect((await dueNow(NOW + 5000))[0]).toMatchObject({ attempts: 2, nextAttemptAt: NOW + 5000, url: URL_A });
        expect(await outbox.pendingCount({ scope, replayed: true })).toBe(0);
      });

      test("revived entries are the replayed selection", async () => {
        await threeDead();
        const pending = await record(candidate("t9", "h", { contactId: "c9" }));
        await outbox.revive({ campaign: scope.campaign }, NOW);
        expect(await dueSet(NOW, { replayed: true, scope })).toEqual(["t1", "t2"]);
        expect(await dueSet(NOW, { replayed: false, scope })).toEqual(["t9"]);
        expect(await dueSet(NOW)).toEqual(["t1", "t2", "t9"]);
        expect(await outbox.pendingCount({ scope, replayed: true })).toBe(2);
        expect(await outbox.pendingCount({ scope, replayed: false })).toBe(1);
        expect(await outbox.pendingCount({ scope })).toBe(3);
        expect(ids(await outbox.due({ replayed: true }, NOW, 100000))).not.toContain(pending.id);
      });

      test("revived entries do not hold the checkpoint", async () => {
        const entry = await record(candidate("t1", "h"), { ...plain, floor: "2026-01-01T00:00:00.000Z" });
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-01-01T00:00:00.000Z" });
        await outbox.deadLetter(entry.id, 5, "HTTP 500", new Date(NOW));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "unlimited" });
        await outbox.revive({ ids: [entry.id] }, NOW);
        expect(await outbox.pendingCount({ scope })).toBe(1);
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "unlimited" });
      });

      test("a replayed entry with no floor does not make the floor null", async () => {
        const dead = await record(candidate("t1", "h", { contactId: "a" }), { ...plain, floor: undefined });
        await outbox.deadLetter(dead.id, 5, "x", new Date(NOW));
        await outbox.revive({ ids: [dead.id] }, NOW);
        await record(candidate("t2", "h", { contactId: "b" }), { ...plain, floor: "2026-02-01T00:00:00.000Z" });
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-02-01T00:00:00.000Z" });
      });

      test("a replayed entry that fails again is a dead letter again", async () => {
        const [t1] = await threeDead();
        await outbox.revive({ ids: [t1?.id ?? ""] }, NOW);
        await outbox.deadLetter(t1?.id ?? "", 1, "still down", new Date(NOW + 7_200_000));
        const [dead] = await outbox.failed({ ids: [t1?.id ?? ""] });
        expect(dead).toMatchObject({ attempts: 1, lastError: "still down", failedAt: new Date(NOW + 7_200_000).toISOString() });
      });

      test("a dead letter whose transaction has a newer version pending or delivered is superseded", async () => {
        const v1 = await record(candidate("t1", "A"));
        const other = await record(candidate("t2", "A", { contactId: "c2" }));
        await outbox.deadLetter(v1.id, 3, "x", new Date(NOW));
        await outbox.deadLetter(other.id, 3, "x", new Date(NOW));
        expect((await outbox.failed({ ids: [v1.id] }))[0]?.superseded).toBe(false);
        await outbox.enqueue(scope, [candidate("t1", "B")], [], plain);
        const listed = Object.fromEntries((await outbox.failed({ campaign: scope.campaign })).map((e) => [e.transactionId, e.superseded]));
        expect(listed).toEqual({ t1: true, t2: false });
        // Delivered, the newer version still supersedes it.
        const v2 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        expect(v2.version).toBe(2);
        await outbox.delivered(v2.id, NOW);
        expect((await outbox.failed({ ids: [v1.id] }))[0]?.superseded).toBe(true);
        // A newer version in another campaign supersedes nothing here.
        await outbox.enqueue(
          otherCampaign,
          [candidate("t2", "A", { contactId: "c2" }), candidate("t2", "B", { contactId: "c2" })],
          [],
          plain,
        );
        expect((await outbox.failed({ ids: [other.id] }))[0]?.superseded).toBe(false);
      });

      test("revive skips superseded dead letters unless includeSuperseded", async () => {
        const v1 = await record(candidate("t1", "A"));
        const keep = await record(candidate("t2", "A", { contactId: "c2" }));
        await outbox.deadLetter(v1.id, 3, "x", new Date(NOW));
        await outbox.deadLetter(keep.id, 3, "x", new Date(NOW));
        await outbox.enqueue(scope, [candidate("t1", "B")], [], plain);
        const v2 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;

        expect(await outbox.revive({ campaign: scope.campaign }, NOW)).toEqual([keep.id]);
        expect(ids(await outbox.failed({ campaign: scope.campaign }))).toEqual([v1.id]);
        expect(await outbox.revive({ ids: [v1.id] }, NOW)).toEqual([]);
        expect(await outbox.failed({ ids: [v1.id] })).toHaveLength(1);
        expect(await outbox.revive({ ids: [v1.id] }, NOW, { includeSuperseded: true })).toEqual([v1.id]);
        expect(await outbox.failed({ campaign: scope.campaign })).toEqual([]);
        expect(await outbox.pendingCount({ scope, replayed: true })).toBe(2);
        // Asked for, the old version goes after the newer one that was on its way.
        const order = (await drain()).filter((e) => e.transactionId === "t1").map((e) => e.version);
        expect(order).toEqual([2, 1]);
        expect(await outbox.settled([v2.id, v1.id])).toEqual({ delivered: 2, failed: 0, pending: 0 });
      });

      test("when the newest version is dead too, no version is superseded and all go again, in order", async () => {
        const v1 = await record(candidate("t1", "A"));
        await outbox.deadLetter(v1.id, 3, "x", new Date(NOW));
        await outbox.enqueue(scope, [candidate("t1", "B")], [], plain);
        const v2 = (await dueNow()).find((e) => e.transactionId === "t1") as OutboxEntry;
        await outbox.deadLetter(v2.id, 3, "x", new Date(NOW));
        expect((await outbox.failed({ campaign: scope.campaign })).map((e) => [e.version, e.superseded])).toEqual([
          [1, false],
          [2, false],
        ]);
        expect(sorted(await outbox.revive({ campaign: scope.campaign }, NOW))).toEqual(sorted([v1.id, v2.id]));
        expect(ids(await outbox.due({ scope }, FAR, 10))).toEqual([v1.id]);
        expect((await drain()).map((e) => e.version)).toEqual([1, 2]);
      });

      test("revived entries keep the order of their contact: at most one due, the oldest first", async () => {
        // c1: t1, t2, t3 all dead.
        await outbox.enqueue(
          scope,
          ["t1", "t2", "t3"].map((t) => candidate(t, "h", { contactId: "c1" })),
          [],
          plain,
        );
        for (let i = 0; i < 3; i++) {
          const [head] = await dueNow();
          await outbox.deadLetter(head?.id ?? "", 3, "x", new Date(NOW));
        }
        expect(await outbox.pendingCount({ scope })).toBe(0);
        // Revived in one call, listed in reverse: still t1, t2, t3, one at a time.
        const revived = await outbox.revive({ ids: ["t3", "t2", "t1"].map((t) => webhookId(scope, t, 1, "h")) }, NOW);
        expect(revived).toHaveLength(3);
        expect(transactionIds(await dueNow(FAR))).toHaveLength(1);
        expect(transactionIds(await drain())).toEqual(["t1", "t2", "t3"]);
      });

      test("a dead letter revived while a later entry of its contact is in flight waits for it, then goes before the rest", async () => {
        // c1: t1 delivered, t2 dead, t3 claimed, t4 waiting.
        await outbox.enqueue(
          scope,
          ["t1", "t2", "t3", "t4"].map((t) => candidate(t, "h", { contactId: "c1" })),
          [],
          plain,
        );
        const order: string[] = [];
        const head = async () => (await dueNow(FAR))[0] as OutboxEntry;
        await outbox.delivered((await head()).id, NOW);
        await outbox.deadLetter((await head()).id, 3, "x", new Date(NOW));
        const t3 = await head();
        expect(t3.transactionId).toBe("t3");
        await outbox.claim(t3.id, NOW, NOW + 30_000);
        expect(await outbox.revive({ ids: [webhookId(scope, "t2", 1, "h")] }, NOW)).toHaveLength(1);
        expect(await dueNow(NOW + 29_999)).toEqual([]);
        expect(transactionIds(await dueNow(NOW + 30_000))).toEqual(["t3"]);
        await outbox.delivered(t3.id, NOW + 100);
        for (let entry = await head(); entry; entry = await head()) {
          expect(await dueNow(FAR)).toHaveLength(1);
          order.push(entry.transactionId);
          await outbox.delivered(entry.id, NOW + 100);
        }
        expect(order).toEqual(["t2", "t4"]);
      });

      test("revived entries wait behind their contact's pending delivery, replayed or not", async () => {
        const dead = await record(candidate("t1", "h", { contactId: "c1" }));
        await outbox.deadLetter(dead.id, 3, "x", new Date(NOW));
        const live = await record(candidate("t2", "h", { contactId: "c1" }));
        await outbox.revive({ ids: [dead.id] }, NOW);
        expect(ids(await dueNow(FAR))).toEqual([live.id]);
        expect(await outbox.due({ scope, replayed: true }, FAR, 10)).toEqual([]);
        expect(await outbox.nextDueAt({ scope, replayed: true })).toBeUndefined();
        await outbox.deadLetter(live.id, 3, "x", new Date(NOW + 5));
        expect(await dueNow(FAR)).toMatchObject([{ id: dead.id, nextAttemptAt: NOW + 5, attempts: 0 }]);
      });
    });

    describe("checkpoint floor, next due time and counts", () => {
      const floor = (value: string | undefined): EnqueueOptions => ({ url: URL_A, floor: value, signed: false });

      test("no floor while nothing is pending", async () => {
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "unlimited" });
      });

      test("the floor is the lowest among pending entries", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], floor("2026-03-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], floor("2026-02-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t3", "h", { contactId: "c" })], [], floor("2026-03-02T10:00:00.000Z"));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-02-01T10:00:00.000Z" });
        const t2 = (await dueNow()).find((e) => e.transactionId === "t2");
        await outbox.delivered(t2?.id ?? "", NOW);
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-03-01T10:00:00.000Z" });
      });

      test("entries waiting behind their contact hold the floor too", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h")], [], floor("2026-03-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t2", "h")], [], floor("2026-02-01T10:00:00.000Z"));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-02-01T10:00:00.000Z" });
      });

      test("an entry recorded before any checkpoint makes the floor null", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], floor("2026-03-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], floor(undefined));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "frozen" });
        const t2 = (await dueNow()).find((e) => e.transactionId === "t2");
        await outbox.delivered(t2?.id ?? "", NOW);
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-03-01T10:00:00.000Z" });
      });

      test("entries waiting for a retry or claimed still hold the floor; dead letters do not", async () => {
        const entry = await record(candidate("t1", "h"), floor("2026-03-01T10:00:00.000Z"));
        await outbox.claim(entry.id, NOW, NOW + 30_000);
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-03-01T10:00:00.000Z" });
        await outbox.retryLater(entry.id, 1, FAR, "timeout");
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-03-01T10:00:00.000Z" });
        await outbox.deadLetter(entry.id, 2, "timeout", new Date(NOW));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "unlimited" });
      });

      test("the floor keeps to its campaign", async () => {
        await outbox.enqueue(otherCampaign, [candidate("t1", "h")], [], floor(undefined));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "unlimited" });
        await outbox.enqueue(scope, [candidate("t1", "h")], [], floor("2026-03-01T10:00:00.000Z"));
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-03-01T10:00:00.000Z" });
        expect(await outbox.checkpointLimit(otherCampaign)).toEqual({ kind: "frozen" });
      });

      test("nextDueAt is the earliest next attempt among pending entries of the selection", async () => {
        expect(await outbox.nextDueAt({ scope })).toBeUndefined();
        const a = await record(candidate("t1", "h", { contactId: "a" }));
        const b = await record(candidate("t2", "h", { contactId: "b" }));
        await outbox.retryLater(a.id, 1, NOW + 9000, "x");
        await outbox.retryLater(b.id, 1, NOW + 4000, "x");
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 4000);
        await outbox.deadLetter(b.id, 2, "x", new Date(NOW));
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 9000);
        expect(await outbox.nextDueAt({ scope: otherCampaign })).toBeUndefined();
        expect(await outbox.nextDueAt({ scope, replayed: true })).toBeUndefined();
        await outbox.revive({ ids: [b.id] }, NOW + 100);
        expect(await outbox.nextDueAt({ scope, replayed: true })).toBe(NOW + 100);
        expect(await outbox.nextDueAt({ scope, replayed: false })).toBe(NOW + 9000);
      });

      test("pendingCount counts pending entries of the selection; none means all campaigns", async () => {
        const before = await outbox.pendingCount();
        await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain);
        await outbox.enqueue(otherCampaign, [candidate("t1", "h")], [], plain);
        expect(await outbox.pendingCount({ scope })).toBe(2);
        expect(await outbox.pendingCount({ scope: otherCampaign })).toBe(1);
        expect(await outbox.pendingCount()).toBe(before + 3);
        const [first] = await dueNow();
        await outbox.deadLetter(first?.id ?? "", 1, "x", new Date(NOW));
        expect(await outbox.pendingCount({ scope })).toBe(1);
      });

      test("pendingCount filters by signed and replayed", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], { ...plain, signed: true });
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], { ...plain, signed: false });
        await outbox.enqueue(scope, [candidate("t3", "h", { contactId: "c" })], [], { ...plain, signed: true });
        await outbox.enqueue(otherCampaign, [candidate("t1", "h")], [], { ...plain, signed: true });
        expect(await outbox.pendingCount({ scope, signed: true })).toBe(2);
        expect(await outbox.pendingCount({ scope, signed: false })).toBe(1);
        const t3 = (await dueNow()).find((e) => e.transactionId === "t3") as OutboxEntry;
        await outbox.deadLetter(t3.id, 1, "x", new Date(NOW));
        await outbox.revive({ ids: [t3.id] }, NOW);
        expect(await outbox.pendingCount({ scope, replayed: true, signed: true })).toBe(1);
        expect(await outbox.pendingCount({ scope, replayed: true, signed: false })).toBe(0);
        expect(await outbox.pendingCount({ scope, replayed: false, signed: true })).toBe(1);
        expect(await outbox.pendingCount({ replayed: true, signed: true })).toBeGreaterThanOrEqual(1);
      });
    });

    describe("atomicity", () => {
      test("a candidate whose body() throws leaves nothing recorded", async () => {
        const good = candidate("t1", "h");
        const bad = {
          ...candidate("t2", "h"),
          body: (): string => {
            throw new Error("cannot render");
          },
        };
        const error = await outbox.enqueue(scope, [good, bad], [{ id: "contact-1", md5: "m1" }], plain).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(error?.message).toContain("cannot render");
        expect(await outbox.pendingCount({ scope })).toBe(0);
        expect((await outbox.knownContactMd5(scope, ["contact-1"])).size).toBe(0);
        // No version was recorded either: the same versions are new, not skipped.
        expect(await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain)).toEqual({
          new: 2,
          updated: 0,
          skipped: 0,
        });
        expect(ids(await drain())).toEqual([webhookId(scope, "t1", 1, "h"), webhookId(scope, "t2", 1, "h")]);
      });

      // The sync records while the deliverer claims and the pipeline saves checkpoints, all on one
      // store: a call made while an enqueue's transaction is open must wait for it, not fail or
      // block the process on the database lock.
      test("calls made while an enqueue runs wait for it and succeed", async () => {
        const first = await record(candidate("t1", "h", { contactId: "contact-1" }));
        const key = { campaign: scope.campaign, mode: "webhook", target: "" };
        const started = Date.now();
        const outcomes = await Promise.allSettled([
          outbox.enqueue(scope, [candidate("t2", "h", { contactId: "contact-2" })], [], plain),
          outbox.claim(first.id, NOW, NOW + 1000),
          store.setCheckpoint(key, "2026-01-01T00:00:00.000Z"),
          outbox.pendingCount({ scope }),
          store.getCheckpoint(key),
          outbox.retarget(scope, URL_B),
          outbox.settled([first.id]),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(Array(7).fill("fulfilled"));
        expect(outcomes[1]).toEqual({ status: "fulfilled", value: true });
        expect(outcomes[6]).toEqual({ status: "fulfilled", value: { delivered: 0, failed: 0, pending: 1 } });
        expect(Date.now() - started).toBeLessThan(2000);
        expect(await outbox.pendingCount({ scope })).toBe(2);
      });

      test("the outbox works normally after a failed enqueue", async () => {
        const bad = {
          ...candidate("t1", "h"),
          body: (): string => {
            throw new Error("no");
          },
        };
        await outbox.enqueue(scope, [bad], [], plain).catch(() => {});
        const entry = await record(candidate("t2", "h"));
        expect(await outbox.claim(entry.id, NOW, NOW + 1000)).toBe(true);
        await outbox.delivered(entry.id, NOW);
        expect(await outbox.pendingCount({ scope })).toBe(0);
      });
    });

    if (persistent) {
      test("everything survives closing and reopening the store", async () => {
        await outbox.enqueue(
          scope,
          [
            candidate("t1", "h1", { contactId: "a" }),
            candidate("t2", "h1", { contactId: "b" }),
            candidate("t3", "h1", { contactId: "c" }),
            candidate("t4", "h1", { contactId: "b" }),
          ],
          [{ id: "a", md5: "ma" }],
          { url: URL_A, floor: "2026-03-01T00:00:00.000Z", signed: true },
        );
        const due = await dueNow();
        const [t1, t2, t3] = ["t1", "t2", "t3"].map((t) => due.find((e) => e.transactionId === t) as OutboxEntry);
        await outbox.claim(t1?.id ?? "", NOW, NOW + 30_000);
        await outbox.retryLater(t2?.id ?? "", 2, NOW + 5000, "HTTP 503");
        await outbox.deadLetter(t3?.id ?? "", 4, "HTTP 500", new Date(NOW));
        const failedBefore = await outbox.failed({ campaign: scope.campaign });

        await store.close();
        store = await open();
        outbox = store.outbox;

        expect(Object.fromEntries(await outbox.knownContactMd5(scope, ["a"]))).toEqual({ a: "ma" });
        expect(await outbox.failed({ campaign: scope.campaign })).toEqual(failedBefore);
        expect(await outbox.checkpointLimit(scope)).toEqual({ kind: "atMost", checkpoint: "2026-03-01T00:00:00.000Z" });
        expect(await outbox.pendingCount({ scope })).toBe(3);
        expect(await outbox.pendingCount({ scope, signed: true })).toBe(3);
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 5000);
        // The lease of t1 still runs; t2 waits for its retry, t4 behind t2.
        expect(await outbox.claim(t1?.id ?? "", NOW + 1, NOW + 60_000)).toBe(false);
        expect(transactionIds(await dueNow(NOW + 5000))).toEqual(["t2"]);
        expect((await dueNow(NOW + 30_000)).find((e) => e.id === t1?.id)).toMatchObject({
          signed: true,
          state: "new",
          body: t1?.body,
          url: URL_A,
        });
        await outbox.delivered(t2?.id ?? "", NOW);
        expect(transactionIds(await dueNow(NOW))).toEqual(["t4"]);
        // Recorded versions survive: the same version is skipped, a new one is updated as version 2.
        expect(await outbox.enqueue(scope, [candidate("t1", "h1", { contactId: "a" })], [], plain)).toEqual({
          new: 0,
          updated: 0,
          skipped: 1,
        });
        expect(await outbox.enqueue(scope, [candidate("t3", "h2", { contactId: "c" })], [], plain)).toEqual({
          new: 0,
          updated: 1,
          skipped: 0,
        });
        expect((await outbox.failed({ ids: [t3?.id ?? ""] }))[0]?.superseded).toBe(true);
        expect(await outbox.revive({ ids: [t3?.id ?? ""] }, NOW, { includeSuperseded: true })).toEqual([t3?.id ?? ""]);
      });
    }
  });
}
