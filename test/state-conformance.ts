// One suite for every StateStore implementation. `open` must reach the same store each time it is
// called when `persistent` is set, so that "survives reopen" can be checked; with the store's `url`,
// replicas in processes of their own race for leases, and the tables the store made are compared
// with its drizzle schema.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { LeaseLostError } from "../src/core/state/leases.ts";
import type { CheckpointKey, StateStore } from "../src/core/state/state.ts";
import { runLeaseConformance, runStatusConformance, runTablesConformance } from "./state-leases-conformance.ts";

let campaignCounter = 0;
const runId = Math.random().toString(36).slice(2, 7);

export function runStateConformance(
  name: string,
  open: () => Promise<StateStore>,
  { persistent = true, url }: { persistent?: boolean; url?: string } = {},
): void {
  describe(`state store conformance: ${name}`, () => {
    let store: StateStore;
    let key: CheckpointKey;

    beforeEach(async () => {
      store = await open();
      // A campaign of its own per test, so one store can serve the whole suite.
      key = { campaign: `campaign-${runId}-${++campaignCounter}`, mode: "db_sync", target: "file:/tmp/x.db|dfire_" };
    });

    afterEach(() => store.close());

    test("a checkpoint never set is undefined", async () => {
      expect(await store.getCheckpoint(key)).toBeUndefined();
    });

    test("a set checkpoint reads back with the time it was saved", async () => {
      const before = Date.now();
      await store.setCheckpoint(key, "2024-05-01T10:00:00.000Z");
      const checkpoint = await store.getCheckpoint(key);
      expect(checkpoint?.value).toBe("2024-05-01T10:00:00.000Z");
      const savedAt = Date.parse(checkpoint?.updatedAt ?? "");
      expect(savedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(savedAt).toBeLessThanOrEqual(Date.now() + 1000);
    });

    test("setting again overwrites", async () => {
      await store.setCheckpoint(key, "2024-05-01T10:00:00.000Z");
      await store.setCheckpoint(key, "2024-05-02T11:30:00.000Z");
      expect((await store.getCheckpoint(key))?.value).toBe("2024-05-02T11:30:00.000Z");
    });

    test("campaign, mode and target each separate checkpoints", async () => {
      const others: CheckpointKey[] = [
        { ...key, campaign: `${key.campaign}-other` },
        { ...key, mode: "db_update" },
        { ...key, target: "postgres://db/x|" },
      ];
      await store.setCheckpoint(key, "2024-01-01T00:00:00.000Z");
      for (const other of others) expect(await store.getCheckpoint(other)).toBeUndefined();
      for (const [i, other] of others.entries()) await store.setCheckpoint(other, `2024-0${i + 2}-01T00:00:00.000Z`);
      expect((await store.getCheckpoint(key))?.value).toBe("2024-01-01T00:00:00.000Z");
      for (const [i, other] of others.entries()) {
        expect((await store.getCheckpoint(other))?.value).toBe(`2024-0${i + 2}-01T00:00:00.000Z`);
      }
    });

    test("keys that differ only in case or in a trailing space are kept apart", async () => {
      const variants = [key.campaign, key.campaign.toUpperCase(), `${key.campaign} `];
      for (const [i, campaign] of variants.entries()) await store.setCheckpoint({ ...key, campaign }, `2024-0${i + 1}-01T00:00:00.000Z`);
      for (const [i, campaign] of variants.entries()) {
        expect((await store.getCheckpoint({ ...key, campaign }))?.value).toBe(`2024-0${i + 1}-01T00:00:00.000Z`);
      }
    });

    test("a fenced store saves checkpoints while its lease holds", async () => {
      const lease = await store.leases.acquire(`fence-${key.campaign}`, "replica-a", 60_000);
      if (!lease) throw new Error("the free lease was not granted");
      await store.fenced(lease).setCheckpoint(key, "2024-07-01T00:00:00.000Z");
      expect((await store.getCheckpoint(key))?.value).toBe("2024-07-01T00:00:00.000Z");
    });

    test("a fenced store's checkpoint after another owner took the lease: LeaseLostError, the checkpoint unchanged", async () => {
      const name = `fence-${key.campaign}`;
      const first = await store.leases.acquire(name, "replica-a", 50);
      if (!first) throw new Error("the free lease was not granted");
      const paused = store.fenced(first);
      await paused.setCheckpoint(key, "2024-07-01T00:00:00.000Z");
      await Bun.sleep(120);
      const second = await store.leases.acquire(name, "replica-b", 60_000);
      expect(second?.token).toBeGreaterThan(first.token);
      const error = await paused.setCheckpoint(key, "2024-07-02T00:00:00.000Z").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LeaseLostError);
      expect((await store.getCheckpoint(key))?.value).toBe("2024-07-01T00:00:00.000Z");
      // The new owner's fence holds.
      await store.fenced(second as NonNullable<typeof second>).setCheckpoint(key, "2024-07-03T00:00:00.000Z");
      expect((await store.getCheckpoint(key))?.value).toBe("2024-07-03T00:00:00.000Z");
    });

    test("a fenced store whose lease was released and taken again by its own owner writes nothing", async () => {
      const name = `fence-${key.campaign}`;
      const first = await store.leases.acquire(name, "replica-a", 60_000);
      if (!first) throw new Error("the free lease was not granted");
      await store.leases.release({ ...first });
      const again = await store.leases.acquire(name, "replica-a", 60_000);
      expect(again?.token).toBeGreaterThan(first.token);
      const error = await store
        .fenced(first)
        .setCheckpoint(key, "2024-07-02T00:00:00.000Z")
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(LeaseLostError);
      expect(await store.getCheckpoint(key)).toBeUndefined();
    });

    test("keys with quotes, unicode and separators are kept apart exactly", async () => {
      const odd = { campaign: `it's "odd" ü😀|${key.campaign}`, mode: "db_sync|x", target: "a|b" };
      const similar = { campaign: `it's "odd" ü😀`, mode: `${key.campaign}|db_sync`, target: "x|a|b" };
      await store.setCheckpoint(odd, "2024-03-03T03:03:03.000Z");
      expect((await store.getCheckpoint(odd))?.value).toBe("2024-03-03T03:03:03.000Z");
      expect(await store.getCheckpoint(similar)).toBeUndefined();
    });

    if (persistent) {
      test("checkpoints survive closing and reopening the store", async () => {
        await store.setCheckpoint(key, "2024-06-06T06:06:06.000Z");
        await store.close();
        store = await open();
        expect((await store.getCheckpoint(key))?.value).toBe("2024-06-06T06:06:06.000Z");
      });
    }
  });
  runLeaseConformance(name, open, { url });
  runStatusConformance(name, open);
  if (url !== undefined) runTablesConformance(name, open, url);
}
