// What the outbox promises when its state store is shared (src/core/state/outbox.ts), for every
// family: writes racing on one contact from several connections keep its line whole (one delivery
// next, none stuck), and an outbox fenced by a campaign's lease writes nothing once the lease went to
// another replica.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type Lease, LeaseLostError } from "../src/core/state/leases.ts";
import type { StateStore } from "../src/core/state/state.ts";
import type { OutboxCandidate, OutboxScope } from "../src/core/webhook/outbox.ts";

const runId = Math.random().toString(36).slice(2, 7);
let counter = 0;

const NOW = Date.parse("2026-03-02T10:00:00.000Z");
const FAR = NOW + 365 * 86_400_000;
const options = { url: "https://receiver.example/hook", floor: "2026-03-01T00:00:00.000Z", signed: false };

function version(transactionId: string, contactId: string, hash = "h"): OutboxCandidate {
  return { contactId, transactionId, hash, history: false, body: (state) => JSON.stringify({ transactionId, hash, state }) };
}

export function runOutboxSharing(name: string, open: () => Promise<StateStore>): void {
  describe(`webhook outbox shared: ${name}`, () => {
    let store: StateStore;
    let scope: OutboxScope;

    beforeEach(async () => {
      store = await open();
      scope = { campaign: `sharing-${runId}-${++counter}` };
    });
    afterEach(() => store.close());

    test("deliveries settling while new ones of their contacts are recorded leave each line one delivery next, none stuck", async () => {
      const contacts = Array.from({ length: 12 }, (_, i) => `contact-${i}`);
      await store.outbox.enqueue(
        scope,
        contacts.map((contact) => version(`${contact}-0`, contact)),
        [],
        options,
      );
      for (let round = 1; round <= 15; round++) {
        const heads = await store.outbox.due({ scope }, FAR, 1000);
        expect(heads.map((entry) => entry.transactionId).sort()).toEqual(contacts.map((contact) => `${contact}-${round - 1}`).sort());
        // Each round: the next version of every contact recorded while every head is delivered.
        await Promise.all([
          store.outbox.enqueue(
            scope,
            contacts.map((contact) => version(`${contact}-${round}`, contact)),
            [],
            options,
          ),
          ...heads.map((entry) => store.outbox.delivered(entry.id, NOW)),
        ]);
      }
      expect(await store.outbox.pendingCount({ scope })).toBe(contacts.length);
    });

    describe("fenced by a lease", () => {
      const take = async (owner: string): Promise<Lease> => {
        const lease = await store.leases.acquire(`outbox-${scope.campaign}`, owner, 3_600_000);
        if (!lease) throw new Error(`${owner} did not get the lease`);
        return lease;
      };

      test("writes while the lease holds; once it moved, every write is refused and changes nothing", async () => {
        const held = await take("a");
        const fenced = store.fenced(held).outbox;
        await fenced.enqueue(scope, [version("t1", "c1"), version("t2", "c1"), version("t3", "c2")], [{ id: "c1", md5: "m" }], options);
        const [first] = await fenced.due({ scope }, NOW, 10);
        if (!first) throw new Error("nothing due");
        await fenced.deadLetter(first.id, 1, "HTTP 500", new Date(NOW));
        const before = {
          due: await store.outbox.due({ scope }, FAR, 10),
          failed: await store.outbox.failed({ campaign: scope.campaign }),
          md5: await store.outbox.knownContactMd5(scope, ["c1"]),
        };
        const [next] = before.due;
        if (!next) throw new Error("nothing due");

        await store.leases.release(held);
        expect((await take("b")).token).toBeGreaterThan(held.token);
        const refused = [
          () => fenced.enqueue(scope, [version("t4", "c3")], [{ id: "c3", md5: "n" }], options),
          () => fenced.retarget(scope, "https://moved.example/hook"),
          () => fenced.forgetContacts(scope),
          () => fenced.revive({ campaign: scope.campaign }, NOW),
          () => fenced.repairLines(NOW),
          () => fenced.delivered(next.id, NOW),
          () => fenced.retryLater(next.id, 1, NOW + 1000, "HTTP 503"),
          () => fenced.release(next.id, NOW + 5),
          () => fenced.deadLetter(next.id, 1, "HTTP 500", new Date(NOW)),
        ];
        for (const write of refused)
          expect(
            await write().then(
              () => undefined,
              (error: unknown) => error,
            ),
          ).toBeInstanceOf(LeaseLostError);
        expect({
          due: await store.outbox.due({ scope }, FAR, 10),
          failed: await store.outbox.failed({ campaign: scope.campaign }),
          md5: await store.outbox.knownContactMd5(scope, ["c1"]),
        }).toEqual(before);
        // A claim is no write of progress: a delivery sent twice carries the same webhook-id.
        expect(await fenced.claim(next.id, FAR, FAR + 1000)).toBe(true);
      });
    });
  });
}
