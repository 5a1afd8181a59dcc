// One suite for every WebhookOutbox (src/core/outbox.ts), reached through a real StateStore: what
// enqueue records (new/updated/skipped, webhook ids, bodies, contact md5s, atomicity), the delivery
// line (due, claim and leases, retries, dead letters, replays), the checkpoint floor, and, for stores
// `open` reaches again (`persistent`), that all of it survives closing and reopening.
// Every test works in a campaign of its own, so one file store can serve the whole suite.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  type DeliveryState,
  type OutboxCandidate,
  type OutboxEntry,
  type OutboxScope,
  type WebhookOutbox,
  webhookId,
} from "../src/core/outbox.ts";
import type { StateStore } from "../src/core/state.ts";

const runId = Math.random().toString(36).slice(2, 7);
let scopeCounter = 0;

/** A fixed clock for the line: entries are recorded due at once (nextAttemptAt 0). */
const NOW = Date.parse("2026-03-02T10:00:00.000Z");
const FAR = NOW + 365 * 86_400_000;

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

const plain = { floor: undefined, signed: false };

export function runOutboxConformance(
  name: string,
  open: () => Promise<StateStore>,
  { persistent = true }: { persistent?: boolean } = {},
): void {
  describe(`webhook outbox conformance: ${name}`, () => {
    let store: StateStore;
    let outbox: WebhookOutbox;
    let scope: OutboxScope;
    /** Another campaign, same receiver. */
    let otherCampaign: OutboxScope;
    /** Same campaign, another receiver. */
    let otherUrl: OutboxScope;

    beforeEach(async () => {
      store = await open();
      outbox = store.outbox;
      const campaign = `campaign-${runId}-${++scopeCounter}`;
      scope = { campaign, url: "https://receiver.example/hook" };
      otherCampaign = { campaign: `${campaign}-other`, url: scope.url };
      otherUrl = { campaign, url: "https://other.example/hook" };
    });

    afterEach(() => store.close());

    /** Everything due in the scope now, with a generous limit. */
    const dueNow = (at = NOW) => outbox.due({ scope }, at, 1000);
    const ids = (entries: readonly OutboxEntry[]) => entries.map((e) => e.id);
    const transactionIds = (entries: readonly OutboxEntry[]) => entries.map((e) => e.transactionId);

    /** Records one candidate of a contact with nothing else pending, and returns its entry. */
    async function record(c: OutboxCandidate, options: { floor: string | undefined; signed: boolean } = plain, at = scope) {
      const result = await outbox.enqueue(at, [c], [], options);
      expect(result.new + result.updated).toBe(1);
      const entry = (await outbox.due({ scope: at }, FAR, 1000)).find((e) => e.transactionId === c.transactionId);
      if (!entry) throw new Error(`${c.transactionId} is not first in line`);
      return entry;
    }

    describe("enqueue", () => {
      test("the first version of a transaction is recorded as new, with all its fields", async () => {
        const before = new Date().toISOString();
        const c = candidate("t1", "hash-a", { fired: "2026-03-01T08:00:00.000Z" });
        const result = await outbox.enqueue(scope, [c], [], { floor: "2026-03-01T00:00:00.000Z", signed: true });
        expect(result).toEqual({ new: 1, updated: 0, skipped: 0 });
        const [entry, ...rest] = await dueNow();
        expect(rest).toEqual([]);
        expect(entry).toMatchObject({
          id: webhookId(scope, "t1", 1),
          campaign: scope.campaign,
          url: scope.url,
          contactId: "contact-1",
          transactionId: "t1",
          fired: "2026-03-01T08:00:00.000Z",
          state: "new",
          body: JSON.stringify({ transactionId: "t1", hash: "hash-a", state: "new" }),
          signed: true,
          status: "pending",
          attempts: 0,
          lastError: null,
          failedAt: null,
        });
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

      test("a changed hash is recorded as updated", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        const result = await outbox.enqueue(scope, [candidate("t1", "hash-b")], [], plain);
        expect(result).toEqual({ new: 0, updated: 1, skipped: 0 });
        const [first] = await dueNow();
        await outbox.delivered(first?.id ?? "");
        const [second] = await dueNow();
        expect(second?.state).toBe("updated");
        expect(second?.id).toBe(webhookId(scope, "t1", 2));
      });

      test("the same hash again is skipped, also after delivery", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        expect(await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain)).toEqual({ new: 0, updated: 0, skipped: 1 });
        expect(await outbox.pendingCount({ scope })).toBe(1);
        const [entry] = await dueNow();
        await outbox.delivered(entry?.id ?? "");
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

      test("versions are kept per scope: another campaign or URL starts with new", async () => {
        await outbox.enqueue(scope, [candidate("t1", "hash-a")], [], plain);
        for (const other of [otherCampaign, otherUrl]) {
          expect(await outbox.enqueue(other, [candidate("t1", "hash-a")], [], plain)).toEqual({ new: 1, updated: 0, skipped: 0 });
          expect(await outbox.pendingCount({ scope: other })).toBe(1);
        }
        expect(await outbox.pendingCount({ scope })).toBe(1);
      });

      test("enqueue with nothing records nothing", async () => {
        expect(await outbox.enqueue(scope, [], [], plain)).toEqual({ new: 0, updated: 0, skipped: 0 });
        expect(await outbox.pendingCount({ scope })).toBe(0);
      });
    });

    describe("webhook ids", () => {
      test("ids are derived from scope, transaction, version and previous version", async () => {
        await outbox.enqueue(scope, [candidate("t1", "a")], [], plain);
        await outbox.enqueue(scope, [candidate("t1", "b")], [], plain);
        const recorded: string[] = [];
        for (let entry = (await dueNow())[0]; entry; entry = (await dueNow())[0]) {
          recorded.push(entry.id);
          await outbox.delivered(entry.id);
        }
        expect(recorded).toEqual([webhookId(scope, "t1", 1), webhookId(scope, "t1", 2)]);
        expect(recorded[0]).toMatch(/^msg_[0-9a-f]{32}$/);
      });

      test("the same versions in another scope get other ids", async () => {
        const first = await record(candidate("t1", "a"));
        const elsewhere = await record(candidate("t1", "a"), plain, otherUrl);
        expect(elsewhere.id).not.toBe(first.id);
      });

      test("A, B, A again in three enqueues are three deliveries with distinct ids", async () => {
        for (const hash of ["A", "B", "A"]) await outbox.enqueue(scope, [candidate("t1", hash)], [], plain);
        expect(await outbox.pendingCount({ scope })).toBe(3);
        const seen: OutboxEntry[] = [];
        for (let entry = (await dueNow())[0]; entry; entry = (await dueNow())[0]) {
          seen.push(entry);
          await outbox.delivered(entry.id);
        }
        expect(seen.map((e) => [JSON.parse(e.body).hash, e.state])).toEqual([
          ["A", "new"],
          ["B", "updated"],
          ["A", "updated"],
        ]);
        expect(new Set(ids(seen)).size).toBe(3);
      });

      test("A, B, A in one enqueue are three deliveries with distinct ids", async () => {
        const result = await outbox.enqueue(scope, [candidate("t1", "A"), candidate("t1", "B"), candidate("t1", "A")], [], plain);
        expect(result).toEqual({ new: 1, updated: 2, skipped: 0 });
        const seen: string[] = [];
        for (let entry = (await dueNow())[0]; entry; entry = (await dueNow())[0]) {
          seen.push(entry.id);
          await outbox.delivered(entry.id);
        }
        expect(new Set(seen).size).toBe(3);
      });

      // Once an id was derived from (hash, previous hash): the fourth version of A→B→A→B got the id
      // of the second and was dropped.
      test("A, B, A, B: the last version is delivered under a fresh id", async () => {
        for (const hash of ["A", "B", "A", "B"]) await outbox.enqueue(scope, [candidate("t1", hash)], [], plain);
        expect(await outbox.pendingCount({ scope })).toBe(4);
        const seen: OutboxEntry[] = [];
        for (let entry = (await dueNow())[0]; entry; entry = (await dueNow())[0]) {
          seen.push(entry);
          await outbox.delivered(entry.id);
        }
        expect(seen.map((e) => JSON.parse(e.body).hash)).toEqual(["A", "B", "A", "B"]);
        expect(new Set(ids(seen)).size).toBe(4);
      });
    });

    describe("contact md5s", () => {
      test("recorded md5s are read back; unknown contacts are absent", async () => {
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m1" }, { id: "c2", md5: "m2" }], plain);
        const known = await outbox.knownContactMd5(scope, ["c1", "c2", "c3"]);
        expect(Object.fromEntries(known)).toEqual({ c1: "m1", c2: "m2" });
      });

      test("a later enqueue replaces a contact's md5", async () => {
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m1" }], plain);
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "c1" })], [{ id: "c1", md5: "m2" }], plain);
        expect((await outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m2");
      });

      test("md5s are kept per campaign and URL", async () => {
        await outbox.enqueue(scope, [], [{ id: "c1", md5: "m1" }], plain);
        expect((await outbox.knownContactMd5(otherCampaign, ["c1"])).size).toBe(0);
        expect((await outbox.knownContactMd5(otherUrl, ["c1"])).size).toBe(0);
        await outbox.enqueue(otherUrl, [], [{ id: "c1", md5: "other" }], plain);
        expect((await outbox.knownContactMd5(scope, ["c1"])).get("c1")).toBe("m1");
      });

      test("many ids at once are all looked up", async () => {
        const contacts = Array.from({ length: 1234 }, (_, i) => ({ id: `c${i}`, md5: `m${i}` }));
        await outbox.enqueue(scope, [], contacts, plain);
        const known = await outbox.knownContactMd5(scope, contacts.map((c) => c.id));
        expect(known.size).toBe(1234);
        expect(known.get("c1233")).toBe("m1233");
      });

      test("no ids give an empty map", async () => {
        expect((await outbox.knownContactMd5(scope, [])).size).toBe(0);
      });
    });

    describe("the delivery line", () => {
      /** c1: t1, t2; c2: t3; c1: t4 — recorded in that order. */
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

      test("due gives the oldest pending entry of each contact, in recording order", async () => {
        await twoContacts();
        const due = await dueNow();
        expect(transactionIds(due)).toEqual(["t1", "t3"]);
        expect(due[0]?.seq).toBeLessThan(due[1]?.seq ?? 0);
      });

      test("after a delivery the contact's next entry comes due", async () => {
        await twoContacts();
        await outbox.delivered((await dueNow())[0]?.id ?? "");
        expect(transactionIds(await dueNow())).toEqual(["t2", "t3"]);
      });

      test("seq grows in recording order", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], plain);
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], plain);
        const [a, b] = await dueNow();
        expect(transactionIds([a, b] as OutboxEntry[])).toEqual(["t1", "t2"]);
        expect(b?.seq).toBeGreaterThan(a?.seq ?? Infinity);
      });

      test("due respects the limit", async () => {
        const many = Array.from({ length: 5 }, (_, i) => candidate(`t${i}`, "h", { contactId: `c${i}` }));
        await outbox.enqueue(scope, many, [], plain);
        expect(transactionIds(await outbox.due({ scope }, NOW, 2))).toEqual(["t0", "t1"]);
      });

      test("an entry waiting for its retry is not due, nor anything after it for that contact", async () => {
        await twoContacts();
        const t1 = (await dueNow())[0] as OutboxEntry;
        await outbox.retryLater(t1.id, 1, NOW + 60_000, "HTTP 503");
        expect(transactionIds(await dueNow())).toEqual(["t3"]);
        expect(transactionIds(await dueNow(NOW + 59_999))).toEqual(["t3"]);
        expect(transactionIds(await dueNow(NOW + 60_000))).toEqual(["t1", "t3"]);
      });

      test("due keeps to its scope; the same contact in two scopes is first in line in each", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "c1" })], [], plain);
        await outbox.enqueue(otherUrl, [candidate("t2", "h", { contactId: "c1" })], [], plain);
        await outbox.enqueue(otherCampaign, [candidate("t3", "h", { contactId: "c1" })], [], plain);
        expect(transactionIds(await outbox.due({ scope }, NOW, 100))).toEqual(["t1"]);
        expect(transactionIds(await outbox.due({ scope: otherUrl }, NOW, 100))).toEqual(["t2"]);
        expect(transactionIds(await outbox.due({ scope: otherCampaign }, NOW, 100))).toEqual(["t3"]);
      });

      test("a dead letter no longer holds back the later entries of its contact", async () => {
        await twoContacts();
        await outbox.deadLetter((await dueNow())[0]?.id ?? "", 5, "HTTP 500", new Date(NOW));
        expect(transactionIds(await dueNow())).toEqual(["t2", "t3"]);
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

      test("a claimed entry is not due until the lease ends, and blocks its contact", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain);
        const [entry] = await dueNow();
        await outbox.claim(entry?.id ?? "", NOW, NOW + 30_000);
        expect(await dueNow()).toEqual([]);
        expect(transactionIds(await dueNow(NOW + 30_000))).toEqual(["t1"]);
      });

      // Entries held back behind their contact's first one must not count as due: the deliverer's
      // idle loop would poll every few ms for as long as the lease or retry wait lasts.
      test("nextDueAt is the end of the lease when the rest of the contact waits behind it", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain);
        const [entry] = await dueNow();
        await outbox.claim(entry?.id ?? "", NOW, NOW + 30_000);
        expect(await dueNow()).toEqual([]);
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 30_000);
      });

      test("an entry not due yet, unknown, delivered or dead cannot be claimed", async () => {
        const entry = await one();
        await outbox.retryLater(entry.id, 1, NOW + 1000, "timeout");
        expect(await outbox.claim(entry.id, NOW, NOW + 30_000)).toBe(false);
        expect(await outbox.claim("msg_unknown", NOW, NOW + 30_000)).toBe(false);
        await outbox.deadLetter(entry.id, 2, "timeout", new Date(NOW));
        expect(await outbox.claim(entry.id, NOW + 2000, NOW + 30_000)).toBe(false);
        const other = await record(candidate("t2", "h", { contactId: "c2" }));
        await outbox.delivered(other.id);
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
        await outbox.delivered(entry.id);
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
        expect(dead).toMatchObject({
          id: entry.id,
          status: "failed",
          attempts: 6,
          lastError: "HTTP 500: boom",
          failedAt: at.toISOString(),
          body: entry.body,
          state: "new",
        });
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
        expect(transactionIds(await outbox.failed({ campaign: scope.campaign, since: new Date(NOW + 3_600_000) }))).toEqual([
          "t2",
        ]);
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

      test("revive puts matching dead letters back in line with fresh attempts", async () => {
        const [t1, t2, t3] = await threeDead();
        const revived = await outbox.revive({ ids: [t1?.id ?? ""] }, NOW + 10);
        expect(revived).toEqual([t1?.id]);
        const [back, ...rest] = await outbox.due({ scope }, NOW + 10, 100);
        expect(rest).toEqual([]);
        expect(back).toMatchObject({ id: t1?.id, status: "pending", attempts: 0, nextAttemptAt: NOW + 10, failedAt: null });
        expect(ids(await outbox.failed({ campaign: scope.campaign }))).toEqual([t2?.id]);
        expect(ids(await outbox.failed({ campaign: otherCampaign.campaign }))).toEqual([t3?.id]);
      });

      test("revive by campaign and since", async () => {
        const [, t2] = await threeDead();
        expect(await outbox.revive({ campaign: scope.campaign, since: new Date(NOW + 1) }, NOW)).toEqual([t2?.id]);
        expect(transactionIds(await outbox.failed({ campaign: scope.campaign }))).toEqual(["t1"]);
      });

      test("revive touches no pending entry and returns nothing when nothing matches", async () => {
        const entry = await record(candidate("t1", "h"));
        await outbox.retryLater(entry.id, 2, NOW + 5000, "timeout");
        expect(await outbox.revive({ campaign: scope.campaign }, NOW)).toEqual([]);
        expect((await dueNow(NOW + 5000))[0]).toMatchObject({ attempts: 2, nextAttemptAt: NOW + 5000 });
      });

      test("revived entries are the replayed selection", async () => {
        await threeDead();
        const pending = await record(candidate("t9", "h", { contactId: "c9" }));
        await outbox.revive({ campaign: scope.campaign }, NOW);
        expect(transactionIds(await outbox.due({ replayed: true, scope }, NOW, 100))).toEqual(["t1", "t2"]);
        expect(transactionIds(await outbox.due({ scope }, NOW, 100))).toEqual(["t1", "t2", "t9"]);
        expect(await outbox.pendingCount({ scope, replayed: true })).toBe(2);
        expect(await outbox.pendingCount({ scope })).toBe(3);
        expect(transactionIds(await outbox.due({ replayed: true }, NOW, 100000))).not.toContain(pending.transactionId);
      });

      test("revived entries do not hold the checkpoint", async () => {
        const entry = await record(candidate("t1", "h"), { floor: "2026-01-01T00:00:00.000Z", signed: false });
        expect(await outbox.checkpointFloor(scope)).toBe("2026-01-01T00:00:00.000Z");
        await outbox.deadLetter(entry.id, 5, "HTTP 500", new Date(NOW));
        expect(await outbox.checkpointFloor(scope)).toBeUndefined();
        await outbox.revive({ ids: [entry.id] }, NOW);
        expect(await outbox.pendingCount({ scope })).toBe(1);
        expect(await outbox.checkpointFloor(scope)).toBeUndefined();
      });

      test("a replayed entry that fails again is a dead letter again", async () => {
        const [t1] = await threeDead();
        await outbox.revive({ ids: [t1?.id ?? ""] }, NOW);
        await outbox.deadLetter(t1?.id ?? "", 1, "still down", new Date(NOW + 7_200_000));
        const [dead] = await outbox.failed({ ids: [t1?.id ?? ""] });
        expect(dead).toMatchObject({ attempts: 1, lastError: "still down", failedAt: new Date(NOW + 7_200_000).toISOString() });
      });
    });

    describe("checkpoint floor, next due time and counts", () => {
      const floor = (value: string | undefined) => ({ floor: value, signed: false });

      test("no floor while nothing is pending", async () => {
        expect(await outbox.checkpointFloor(scope)).toBeUndefined();
      });

      test("the floor is the lowest among pending entries", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], floor("2026-03-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], floor("2026-02-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t3", "h", { contactId: "c" })], [], floor("2026-03-02T10:00:00.000Z"));
        expect(await outbox.checkpointFloor(scope)).toBe("2026-02-01T10:00:00.000Z");
        const t2 = (await dueNow()).find((e) => e.transactionId === "t2");
        await outbox.delivered(t2?.id ?? "");
        expect(await outbox.checkpointFloor(scope)).toBe("2026-03-01T10:00:00.000Z");
      });

      test("an entry recorded before any checkpoint makes the floor null", async () => {
        await outbox.enqueue(scope, [candidate("t1", "h", { contactId: "a" })], [], floor("2026-03-01T10:00:00.000Z"));
        await outbox.enqueue(scope, [candidate("t2", "h", { contactId: "b" })], [], floor(undefined));
        expect(await outbox.checkpointFloor(scope)).toBeNull();
        const t2 = (await dueNow()).find((e) => e.transactionId === "t2");
        await outbox.delivered(t2?.id ?? "");
        expect(await outbox.checkpointFloor(scope)).toBe("2026-03-01T10:00:00.000Z");
      });

      test("entries waiting for a retry or claimed still hold the floor; dead letters do not", async () => {
        const entry = await record(candidate("t1", "h"), floor("2026-03-01T10:00:00.000Z"));
        await outbox.claim(entry.id, NOW, NOW + 30_000);
        expect(await outbox.checkpointFloor(scope)).toBe("2026-03-01T10:00:00.000Z");
        await outbox.retryLater(entry.id, 1, FAR, "timeout");
        expect(await outbox.checkpointFloor(scope)).toBe("2026-03-01T10:00:00.000Z");
        await outbox.deadLetter(entry.id, 2, "timeout", new Date(NOW));
        expect(await outbox.checkpointFloor(scope)).toBeUndefined();
      });

      test("the floor keeps to its scope", async () => {
        await outbox.enqueue(otherUrl, [candidate("t1", "h")], [], floor(undefined));
        await outbox.enqueue(otherCampaign, [candidate("t1", "h")], [], floor("2020-01-01T00:00:00.000Z"));
        expect(await outbox.checkpointFloor(scope)).toBeUndefined();
        await outbox.enqueue(scope, [candidate("t1", "h")], [], floor("2026-03-01T10:00:00.000Z"));
        expect(await outbox.checkpointFloor(scope)).toBe("2026-03-01T10:00:00.000Z");
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
        expect(await outbox.nextDueAt({ scope: otherUrl })).toBeUndefined();
        expect(await outbox.nextDueAt({ scope, replayed: true })).toBeUndefined();
        await outbox.revive({ ids: [b.id] }, NOW + 100);
        expect(await outbox.nextDueAt({ scope, replayed: true })).toBe(NOW + 100);
      });

      test("pendingCount counts pending entries of the selection; none means all scopes", async () => {
        const before = await outbox.pendingCount();
        await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain);
        await outbox.enqueue(otherUrl, [candidate("t1", "h")], [], plain);
        expect(await outbox.pendingCount({ scope })).toBe(2);
        expect(await outbox.pendingCount({ scope: otherUrl })).toBe(1);
        expect(await outbox.pendingCount()).toBe(before + 3);
        const [first] = await dueNow();
        await outbox.deadLetter(first?.id ?? "", 1, "x", new Date(NOW));
        expect(await outbox.pendingCount({ scope })).toBe(1);
      });
    });

    describe("atomicity", () => {
      test("a candidate whose body() throws leaves nothing recorded", async () => {
        const good = candidate("t1", "h");
        const bad = { ...candidate("t2", "h"), body: (): string => { throw new Error("cannot render"); } };
        const error = await outbox
          .enqueue(scope, [good, bad], [{ id: "contact-1", md5: "m1" }], plain)
          .then(() => undefined, (e: unknown) => e as Error);
        expect(error?.message).toContain("cannot render");
        expect(await outbox.pendingCount({ scope })).toBe(0);
        expect((await outbox.knownContactMd5(scope, ["contact-1"])).size).toBe(0);
        // No version was recorded either: the same versions are new, not skipped.
        expect(await outbox.enqueue(scope, [candidate("t1", "h"), candidate("t2", "h")], [], plain)).toEqual({
          new: 2,
          updated: 0,
          skipped: 0,
        });
      });

      // The sync records while the deliverer claims and the pipeline saves checkpoints, all on one
      // store: a call made while an enqueue's transaction is open must wait for it, not fail or
      // block the process on the database lock.
      test("calls made while an enqueue runs wait for it and succeed", async () => {
        const first = await record(candidate("t1", "h", { contactId: "contact-1" }));
        const key = { campaign: scope.campaign, mode: "webhook", target: scope.url };
        const started = Date.now();
        const outcomes = await Promise.allSettled([
          outbox.enqueue(scope, [candidate("t2", "h", { contactId: "contact-2" })], [], plain),
          outbox.claim(first.id, NOW, NOW + 1000),
          store.setCheckpoint(key, "2026-01-01T00:00:00.000Z"),
          outbox.pendingCount({ scope }),
          store.getCheckpoint(key),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
        expect(outcomes[1]).toEqual({ status: "fulfilled", value: true });
        expect(Date.now() - started).toBeLessThan(2000);
      });

      test("the outbox works normally after a failed enqueue", async () => {
        const bad = { ...candidate("t1", "h"), body: (): string => { throw new Error("no"); } };
        await outbox.enqueue(scope, [bad], [], plain).catch(() => {});
        const entry = await record(candidate("t2", "h"));
        expect(await outbox.claim(entry.id, NOW, NOW + 1000)).toBe(true);
        await outbox.delivered(entry.id);
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
          ],
          [{ id: "a", md5: "ma" }],
          { floor: "2026-03-01T00:00:00.000Z", signed: true },
        );
        const [t1, t2, t3] = await dueNow();
        await outbox.claim(t1?.id ?? "", NOW, NOW + 30_000);
        await outbox.retryLater(t2?.id ?? "", 2, NOW + 5000, "HTTP 503");
        await outbox.deadLetter(t3?.id ?? "", 4, "HTTP 500", new Date(NOW));
        const failedBefore = await outbox.failed({ campaign: scope.campaign });

        await store.close();
        store = await open();
        outbox = store.outbox;

        expect(Object.fromEntries(await outbox.knownContactMd5(scope, ["a"]))).toEqual({ a: "ma" });
        expect(await outbox.failed({ campaign: scope.campaign })).toEqual(failedBefore);
        expect(await outbox.checkpointFloor(scope)).toBe("2026-03-01T00:00:00.000Z");
        expect(await outbox.pendingCount({ scope })).toBe(2);
        expect(await outbox.nextDueAt({ scope })).toBe(NOW + 5000);
        // The lease of t1 still runs; t2 waits for its retry.
        expect(await outbox.claim(t1?.id ?? "", NOW + 1, NOW + 60_000)).toBe(false);
        expect(transactionIds(await dueNow(NOW + 5000))).toEqual(["t2"]);
        expect((await dueNow(NOW + 30_000))[0]).toMatchObject({ id: t1?.id, signed: true, state: "new", body: t1?.body });
        // Recorded versions survive: the same version is skipped, a new one is updated.
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
        expect(await outbox.revive({ ids: [t3?.id ?? ""] }, NOW)).toEqual([t3?.id ?? ""]);
      });
    }
  });
}
