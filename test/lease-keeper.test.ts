// How replicas share campaigns: the arithmetic (every campaign has a place, no replica holds more
// than one above another, the replicas agree without talking to each other), and a keeper's rounds
// on a real state store: taking, handing over, losing, leaving, and when writing is still safe.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LeaseKeeper, liveReplicas, shareOf } from "../src/campaign/lease-keeper.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";

describe("sharing campaigns between replicas", () => {
  test("the shares of the live replicas add up to the campaigns and differ by one at most", () => {
    for (let replicas = 1; replicas <= 7; replicas++) {
      const ids = Array.from({ length: replicas }, (_, i) => `host-${(i * 7919) % 101}-${i}`);
      for (let campaigns = 0; campaigns <= 40; campaigns++) {
        const shares = ids.map((id) => shareOf(id, ids, campaigns));
        expect(shares.reduce((sum, share) => sum + share, 0)).toBe(campaigns);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }
    }
  });

  test("twelve campaigns over three replicas are 4/4/4, over four 3/3/3/3, over five 3/3/2/2/2", () => {
    const share = (ids: string[]) => ids.map((id) => shareOf(id, ids, 12));
    expect(share(["a", "b", "c"])).toEqual([4, 4, 4]);
    expect(share(["a", "b", "c", "d"])).toEqual([3, 3, 3, 3]);
    expect(share(["c", "a", "e", "b", "d"]).sort()).toEqual([2, 2, 2, 3, 3]);
  });

  test("a replica not yet among the live ones counts itself in", () => {
    expect(shareOf("new", ["a", "b"], 12)).toBe(4);
  });

  test("a replica is live while its heartbeat is younger than the lease, it did not leave, and it runs the same campaigns", () => {
    const now = 100_000;
    const replica = (id: string, heartbeatAt: number, stopped = false, campaigns = "file-a") => ({
      id,
      host: "h",
      pid: 1,
      startedAt: 0,
      heartbeatAt,
      stopped,
      campaigns,
    });
    const all = [
      replica("fresh", now - 1000),
      replica("old", now - 31_000),
      replica("gone", now, true),
      replica("other", now, false, "file-b"),
    ];
    expect(liveReplicas(all, now, 30_000, "file-a")).toEqual(["fresh"]);
  });
});

describe("a replica's lease keeper on a real state store", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbsync-keeper-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const names = Array.from({ length: 6 }, (_, i) => `campaign-${i}|db_sync|file:/t${i}.db`);

  /** A keeper whose monotonic clock the test moves. */
  function keeper(store: StateStore, id: string, ttlMs = 30_000) {
    const clock = { now: 0 };
    return { clock, keeper: new LeaseKeeper(store.leases, { id, host: "test", pid: 1 }, ttlMs, () => clock.now) };
  }

  test("alone it takes every campaign; a second replica gets half once the first hands its surplus over", async () => {
    const store = await openStateStore(`file:${join(dir, "share.db")}`);
    try {
      const a = keeper(store, "a").keeper;
      expect([...(await a.round(names)).held.keys()].sort()).toEqual(names);
      const b = keeper(store, "b").keeper;
      // b counts itself in, but everything is held: it takes nothing yet.
      expect((await b.round(names)).held.size).toBe(0);
      const round = await a.round(names);
      expect(round.surplus).toHaveLength(3);
      await a.handBack(round.surplus);
      expect((await b.round(names)).held.size).toBe(3);
      expect((await a.round(names)).surplus).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("replicas running other files do not count: each file's campaigns all find an owner", async () => {
    const store = await openStateStore(`file:${join(dir, "files.db")}`);
    try {
      const a = keeper(store, "a").keeper;
      const b = keeper(store, "b").keeper;
      const fileA = names.slice(0, 2);
      const fileB = names.slice(2, 4);
      await a.round(fileA);
      await b.round(fileB);
      // Counted together they would each give up half of their own file's campaigns, which the
      // other never takes.
      for (const [replica, file] of [
        [a, fileA],
        [b, fileB],
      ] as const) {
        const round = await replica.round(file);
        expect([...round.held.keys()].sort()).toEqual(file);
        expect(round.surplus).toEqual([]);
      }
    } finally {
      await store.close();
    }
  });

  test("writing stops being safe a margin before the lease could run out, and a renewal makes it safe again", async () => {
    const store = await openStateStore(`file:${join(dir, "safe.db")}`);
    try {
      const { keeper: a, clock } = keeper(store, "a", 30_000);
      await a.round(names);
      expect(a.mayWrite(names[0] as string)).toBe(true);
      clock.now += 24_000;
      expect(a.mayWrite(names[0] as string)).toBe(true);
      // Past the lease time less its margin (a sixth): another replica could have it by the store's clock soon.
      clock.now += 1_500;
      expect(a.mayWrite(names[0] as string)).toBe(false);
      await a.round(names);
      expect(a.mayWrite(names[0] as string)).toBe(true);
      expect(a.mayWrite("not-held")).toBe(false);
    } finally {
      await store.close();
    }
  });

  test("leases that ran out are reported lost and taken anew with new tokens where free; a clean leave hands every lease back", async () => {
    const store = await openStateStore(`file:${join(dir, "lost.db")}`);
    try {
      const a = keeper(store, "a", 2_000).keeper;
      await a.round(names);
      // b finds a's leases run out (a stalled) and takes one.
      await Bun.sleep(2_100);
      const taken = await store.leases.acquire(names[0] as string, "b", 60_000);
      expect(taken?.owner).toBe("b");
      // Every lease of a ran out: all are lost (their fences changed or will), the free ones taken anew.
      const tokens = new Map([...a.held].map(([name, lease]) => [name, lease.token]));
      const round = await a.round(names);
      expect([...round.lost].sort()).toEqual(names);
      expect([...round.held.keys()].sort()).toEqual(names.slice(1));
      for (const [name, lease] of round.held) expect(lease.token).toBeGreaterThan(tokens.get(name) as number);
      await a.leave();
      const now = await store.leases.now();
      expect((await store.leases.list()).filter((lease) => lease.owner === "a" && lease.expiresAt > now)).toEqual([]);
      expect((await store.leases.replicas()).find((replica) => replica.id === "a")?.stopped).toBe(true);
    } finally {
      await store.close();
    }
  });

  test("out of touch once no round reached the store for a whole lease time", async () => {
    const store = await openStateStore(`file:${join(dir, "touch.db")}`);
    const { keeper: a, clock } = keeper(store, "a", 10_000);
    await a.round(names);
    await store.close();
    clock.now += 5_000;
    expect(
      await a.round(names).then(
        () => "reached",
        () => "failed",
      ),
    ).toBe("failed");
    expect(a.outOfTouch()).toBe(false);
    clock.now += 6_000;
    expect(a.outOfTouch()).toBe(true);
    expect(a.dropAll().sort()).toEqual(names);
  });
});
