// A replica's lease keeper on PostgreSQL and MariaDB when another replica stalled in the middle of a
// fenced write: the row of that campaign's lease stays locked until it wakes, and the keeper must
// still take the other campaigns in the same round instead of waiting for that lock.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LeaseKeeper } from "../src/campaign/lease-keeper.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openDialect } from "../src/dialects/index.ts";
import { openStateStore } from "../src/state/open.ts";
import { type FreshDatabase, freshDatabase, type ServerKind } from "./helpers/databases.ts";

for (const kind of ["postgres", "mysql"] as ServerKind[]) {
  describe(`lease keeper beside a stalled replica's transaction: ${kind}`, () => {
    let database: FreshDatabase;
    let store: StateStore;
    beforeAll(async () => {
      database = await freshDatabase(kind);
      store = await openStateStore(database.url);
    });
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    test("the locked lease is left for a later round, the free ones are taken now", async () => {
      const names = ["a-stuck", "b-free", "c-free"];
      // The stalled replica's lease ran out, and it sits inside a transaction on the lease's row.
      expect(await store.leases.acquire("a-stuck", "stalled", 1)).toBeDefined();
      await Bun.sleep(10);
      const session = await openDialect(database.url);
      let wake = () => {};
      const locked = new Promise<void>((resolve) => (wake = resolve));
      let holding = () => {};
      const held = new Promise<void>((resolve) => (holding = resolve));
      const stalled = session.transaction(async (tx) => {
        await tx.all(
          kind === "postgres" ? `SELECT name FROM leases WHERE name = $1 FOR UPDATE` : "SELECT name FROM leases WHERE name = ? FOR UPDATE",
          ["a-stuck"],
        );
        holding();
        await locked;
      });
      await held;
      try {
        const keeper = new LeaseKeeper(store.leases, { id: "b", host: "test", pid: 2 }, 30_000);
        const round = await keeper.round(names);
        expect([...round.held.keys()].sort()).toEqual(["b-free", "c-free"]);
        expect(keeper.outOfTouch()).toBe(false);
        wake();
        await stalled;
        // Awake again and its transaction over, the lease is free to take.
        expect([...(await keeper.round(names)).held.keys()].sort()).toEqual(names);
      } finally {
        wake();
        await stalled.catch(() => {});
        await session.close();
      }
    }, 30_000);
  });
}
