// The arithmetic of sharing campaigns between replicas: every campaign has a place, no replica holds
// more than one above another, and the replicas agree without talking to each other.
import { describe, expect, test } from "bun:test";
import { liveReplicas, shareOf } from "../src/campaign/lease-keeper.ts";

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

  test("a replica is live while its heartbeat is younger than the lease and it did not leave", () => {
    const now = 100_000;
    const replica = (id: string, heartbeatAt: number, stopped = false) => ({ id, host: "h", pid: 1, startedAt: 0, heartbeatAt, stopped });
    expect(liveReplicas([replica("fresh", now - 1000), replica("old", now - 31_000), replica("gone", now, true)], now, 30_000)).toEqual([
      "fresh",
    ]);
  });
});
