// One suite for every StateStore implementation. `open` must reach the same store each time it is
// called when `persistent` is set, so that "survives reopen" can be checked.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { CheckpointKey, StateStore } from "../src/core/state/state.ts";

let campaignCounter = 0;
const runId = Math.random().toString(36).slice(2, 7);

export function runStateConformance(
  name: string,
  open: () => Promise<StateStore>,
  { persistent = true }: { persistent?: boolean } = {},
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
}
