// The parts of the state store conformance suite (state-conformance.ts) for `dbsync run`: leases and
// their fencing tokens, replicas, the campaigns' status and rows per minute, and the tables a store
// made, compared with its drizzle schema. Every test uses names of its own, so one store can serve
// the whole suite, and several test files one server.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Lease } from "../src/core/state/leases.ts";
import { tableShapes } from "../src/core/state/schema/ddl.ts";
import type { StateStore } from "../src/core/state/state.ts";
import type { CampaignStatusRecord } from "../src/core/state/status.ts";
import { openDialect } from "../src/dialects/index.ts";
import { stateFamilyOf } from "../src/state/open.ts";

const runId = Math.random().toString(36).slice(2, 7);
let counter = 0;
const unique = (what: string) => `${what}-${runId}-${++counter}`;

const RACER = resolve(import.meta.dir, "helpers/lease-racer.ts");

function granted(lease: Lease | undefined): Lease {
  if (!lease) throw new Error("the lease was not granted");
  return lease;
}

export function runLeaseConformance(name: string, open: () => Promise<StateStore>, { url }: { url?: string }): void {
  describe(`state store conformance: ${name}: leases and replicas`, () => {
    let store: StateStore;
    let lease: string;

    beforeEach(async () => {
      store = await open();
      lease = unique("lease");
    });
    afterEach(() => store.close());

    test("a free lease is granted until the database's clock plus its time", async () => {
      const before = await store.leases.now();
      const got = granted(await store.leases.acquire(lease, "a", 30_000));
      const after = await store.leases.now();
      expect(got).toMatchObject({ name: lease, owner: "a" });
      expect(got.token).toBeGreaterThan(0);
      expect(got.expiresAt).toBeGreaterThanOrEqual(before + 30_000);
      expect(got.expiresAt).toBeLessThanOrEqual(after + 30_000);
      expect((await store.leases.list()).find((l) => l.name === lease)).toEqual(got);
    });

    test("the database's clock is epoch milliseconds near this machine's", async () => {
      expect(Math.abs((await store.leases.now()) - Date.now())).toBeLessThan(60_000);
    });

    test("a lease another owner holds is refused, and stays theirs", async () => {
      const first = granted(await store.leases.acquire(lease, "a", 30_000));
      expect(await store.leases.acquire(lease, "b", 30_000)).toBeUndefined();
      expect((await store.leases.list()).find((l) => l.name === lease)).toEqual(first);
    });

    test("its own owner takes it again with the same token and a later end", async () => {
      const first = granted(await store.leases.acquire(lease, "a", 1_000));
      const again = granted(await store.leases.acquire(lease, "a", 30_000));
      expect(again.token).toBe(first.token);
      expect(again.expiresAt).toBeGreaterThan(first.expiresAt);
    });

    test("an expired lease goes to another owner with a higher token", async () => {
      const first = granted(await store.leases.acquire(lease, "a", 50));
      await Bun.sleep(120);
      const second = granted(await store.leases.acquire(lease, "b", 30_000));
      expect(second.owner).toBe("b");
      expect(second.token).toBeGreaterThan(first.token);
    });

    test("the token grows with every change of owner and never repeats, releases included", async () => {
      const tokens: number[] = [];
      for (const owner of ["a", "b", "a", "a", "c"]) {
        const got = granted(await store.leases.acquire(lease, owner, 30_000));
        tokens.push(got.token);
        await store.leases.release(got);
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i] as number).toBeGreaterThan(tokens[i - 1] as number);
    });

    test("renew extends a lease only for its owner and token", async () => {
      const first = granted(await store.leases.acquire(lease, "a", 1_000));
      expect(await store.leases.renew({ ...first, owner: "b" }, 30_000)).toBeUndefined();
      expect(await store.leases.renew({ ...first, token: first.token + 1 }, 30_000)).toBeUndefined();
      const renewed = granted(await store.leases.renew(first, 30_000));
      expect(renewed.token).toBe(first.token);
      expect(renewed.expiresAt).toBeGreaterThan(first.expiresAt);
    });

    test("renew after another owner took the lease, or after it expired, fails", async () => {
      const first = granted(await store.leases.acquire(lease, "a", 50));
      await Bun.sleep(120);
      expect(await store.leases.renew(first, 30_000)).toBeUndefined();
      granted(await store.leases.acquire(lease, "b", 30_000));
      expect(await store.leases.renew(first, 30_000)).toBeUndefined();
    });

    test("release with the wrong owner or token changes nothing; with the right ones another owner takes it at once", async () => {
      const first = granted(await store.leases.acquire(lease, "a", 30_000));
      await store.leases.release({ ...first, owner: "b" });
      await store.leases.release({ ...first, token: first.token + 1 });
      expect(await store.leases.acquire(lease, "b", 30_000)).toBeUndefined();
      await store.leases.release(first);
      expect(await store.leases.renew(first, 30_000)).toBeUndefined();
      expect(granted(await store.leases.acquire(lease, "b", 30_000)).token).toBeGreaterThan(first.token);
    });

    test("replicas: a heartbeat registers and refreshes, leave marks it stopped, a new heartbeat clears that", async () => {
      const id = unique("replica");
      await store.leases.heartbeat({ id, host: "host-1", pid: 101, campaigns: "file-a" });
      const first = (await store.leases.replicas()).find((r) => r.id === id);
      expect(first).toMatchObject({ id, host: "host-1", pid: 101, stopped: false, campaigns: "file-a" });
      expect(first?.heartbeatAt).toBe(first?.startedAt as number);
      await Bun.sleep(20);
      await store.leases.heartbeat({ id, host: "host-1", pid: 101, campaigns: "file-a" });
      const second = (await store.leases.replicas()).find((r) => r.id === id);
      expect(second?.startedAt).toBe(first?.startedAt as number);
      expect(second?.heartbeatAt).toBeGreaterThan(first?.heartbeatAt as number);
      await store.leases.leave(id);
      expect((await store.leases.replicas()).find((r) => r.id === id)?.stopped).toBe(true);
      await store.leases.heartbeat({ id, host: "host-2", pid: 202, campaigns: "file-b" });
      expect((await store.leases.replicas()).find((r) => r.id === id)).toMatchObject({
        host: "host-2",
        pid: 202,
        stopped: false,
        campaigns: "file-b",
      });
    });

    if (url !== undefined) {
      test("replicas in processes of their own racing for the same leases: each lease goes to exactly one", async () => {
        const prefix = unique("race");
        const count = 12;
        const startAt = Date.now() + 1_500;
        const racers = ["r1", "r2", "r3"].map((owner) =>
          Bun.spawn(["bun", RACER, url, owner, prefix, String(startAt), String(count)], { stdout: "pipe", stderr: "pipe" }),
        );
        const won = await Promise.all(
          racers.map(async (racer) => {
            const [out, err, code] = await Promise.all([
              new Response(racer.stdout).text(),
              new Response(racer.stderr).text(),
              racer.exited,
            ]);
            if (code !== 0) throw new Error(`a racer failed: ${err}`);
            return JSON.parse(out) as string[];
          }),
        );
        const all = won.flat().sort();
        expect(all).toEqual(Array.from({ length: count }, (_, i) => `${prefix}-${i}`).sort());
        const held = (await store.leases.list()).filter((l) => l.name.startsWith(`${prefix}-`));
        for (const [i, names] of won.entries()) {
          for (const leaseName of names) expect(held.find((l) => l.name === leaseName)?.owner).toBe(`r${i + 1}`);
        }
      }, 60_000);
    }
  });
}

export function runStatusConformance(name: string, open: () => Promise<StateStore>): void {
  describe(`state store conformance: ${name}: campaign status`, () => {
    let store: StateStore;
    let campaign: string;

    beforeEach(async () => {
      store = await open();
      campaign = unique("status");
    });
    afterEach(() => store.close());

    const record = (over: Partial<CampaignStatusRecord> = {}): CampaignStatusRecord => ({
      name: `${campaign}|db_sync|file:/x.db|`,
      campaign,
      mode: "db_sync",
      owner: "replica-a",
      state: "running",
      lastError: null,
      settings: "5e1c0ffee",
      since: 1_700_000_000_000,
      updatedAt: 1_700_000_001_000,
      ...over,
    });

    test("a reported status lists as reported; a later report replaces it", async () => {
      await store.status.report(record());
      expect((await store.status.list()).find((r) => r.campaign === campaign)).toEqual(record());
      const failing = record({ state: "backing_off", lastError: "the token was refused (401)", owner: null, since: 1_700_000_002_000 });
      await store.status.report(failing);
      expect((await store.status.list()).filter((r) => r.campaign === campaign)).toEqual([failing]);
    });

    test("rows add up per minute and campaign; rowsSince sums the minutes since then", async () => {
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      const other = `${campaign}-other`;
      await store.status.addRows(campaign, minute - 120_000, 5);
      await store.status.addRows(campaign, minute, 7);
      await store.status.addRows(campaign, minute, 3);
      await store.status.addRows(other, minute, 1);
      const recent = await store.status.rowsSince(minute);
      expect(recent.get(campaign)).toBe(10);
      expect(recent.get(other)).toBe(1);
      expect((await store.status.rowsSince(minute - 180_000)).get(campaign)).toBe(15);
    });

    test("campaigns paused stay paused until resumed, whoever asks; pausing twice is pausing once", async () => {
      const names = [`${campaign}|db_sync|a`, `${campaign}|db_sync|b`];
      await store.status.pause(names);
      await store.status.pause([names[0] as string]);
      expect([...(await store.status.paused())].filter((name) => name.startsWith(campaign)).sort()).toEqual(names);
      await store.status.resume([names[0] as string]);
      expect([...(await store.status.paused())].filter((name) => name.startsWith(campaign))).toEqual([names[1]]);
      await store.status.resume([]);
      await store.status.resume(names);
      expect([...(await store.status.paused())].filter((name) => name.startsWith(campaign))).toEqual([]);
    });

    test("minutes older than a day are forgotten", async () => {
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      const dayAgo = minute - 86_400_000;
      await store.status.addRows(campaign, dayAgo - 60_000, 100);
      await store.status.addRows(campaign, minute, 2);
      expect((await store.status.rowsSince(dayAgo - 3_600_000)).get(campaign)).toBe(2);
    });
  });
}

/** The tables a store made have the columns of its drizzle schema, each table of it. */
export function runTablesConformance(name: string, open: () => Promise<StateStore>, url: string): void {
  test(`state store conformance: ${name}: the tables hold the drizzle schema's columns`, async () => {
    await (await open()).close();
    const dialect = await openDialect(url);
    try {
      for (const table of tableShapes(stateFamilyOf(url))) {
        const columns = await dialect.existingColumns(table.name);
        expect({ table: table.name, columns: [...columns].sort() }).toEqual({
          table: table.name,
          columns: table.columns.map((column) => column.name).sort(),
        });
      }
    } finally {
      await dialect.close();
    }
  });
}
