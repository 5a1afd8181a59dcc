// Replicas of `dbsync run` sharing twelve campaigns through a state store on PostgreSQL, then on
// MariaDB, as real processes: one runs all alone, two more join and the leases spread 4/4/4; one is
// killed (SIGKILL) and its campaigns resume on the others; one is paused (SIGSTOP) past its leases
// and, woken, writes nothing more for them; a fourth joins and they spread again. Through all of it
// every campaign (db_sync into PostgreSQL, MariaDB and libSQL files, webhook to receivers) ends equal
// to its simulator, nothing missing or doubled.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Lease } from "../src/core/state/leases.ts";
import { openStateStore } from "../src/state/open.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { describe as describeDiff, targetDifferences, until } from "./helpers/compare.ts";
import { type FreshDatabase, freshDatabase, type ServerKind } from "./helpers/databases.ts";
import { deliveryProblems, expectedTransactions, summarise } from "./helpers/deliveries.ts";
import { type Receiver, startReceiver } from "./helpers/receiver.ts";
import { CLI, collectOutput, runCli, tempDir } from "./helpers/run.ts";

setDefaultTimeout(240_000);

const LEASE_SECONDS = 3;
const CAMPAIGNS = 12;

interface Target {
  sim: RunningSimulator;
  id: string;
  token: string;
  mode: "db_sync" | "db_init" | "webhook";
  url: string;
  prefix: string;
  receiver?: Receiver;
}

interface Replica {
  name: string;
  child: Subprocess<"ignore", "pipe", "pipe">;
  output: ReturnType<typeof collectOutput>;
}

function replicaSuite(stateKind: ServerKind): void {
  describe(`dbsync run replicas, state on ${stateKind}`, () => {
    const dir = tempDir(`replicas-${stateKind}`);
    const config = join(dir, "dbsync.yaml");
    let state: FreshDatabase;
    let postgres: FreshDatabase;
    let mariadb: FreshDatabase;
    const targets: Target[] = [];
    const replicas: Replica[] = [];

    beforeAll(async () => {
      [state, postgres, mariadb] = await Promise.all([freshDatabase(stateKind), freshDatabase("postgres"), freshDatabase("mysql")]);
      for (let i = 0; i < CAMPAIGNS; i++) {
        const id = `REPLICA${stateKind === "postgres" ? "P" : "M"}CAMPA${String(i).padStart(3, "0")}`;
        const token = `replica-token-${stateKind}-${i}-0123456789`;
        const sim = startSimulator({ campaignId: id, token, contacts: 30, seed: 300 + i });
        const prefix = `c${i}_`;
        const kind = i % 6;
        if (kind === 5) {
          const receiver = startReceiver();
          targets.push({ sim, id, token, mode: "webhook", url: receiver.url, prefix: "", receiver });
        } else {
          const url = kind < 2 ? postgres.url : kind < 4 ? mariadb.url : `file:${join(dir, `target-${i}.db`)}`;
          // One db_init: finished once, it is not run again by a replica that takes it over.
          targets.push({ sim, id, token, mode: i === 4 ? "db_init" : "db_sync", url, prefix });
        }
      }
      const campaigns = targets
        .map(
          (t) => `  - campaign: ${t.id}
    token: ${t.token}
    mode: ${t.mode}
    url: ${t.url}
    api_url: ${t.sim.url}
    interval: 0.3
    workers: 4
    api_retries: 2
${t.mode === "webhook" ? "    start: 2000-01-01\n    retry_wait: 0.1\n    webhook_rate: 2000\n    webhook_timeout: 2\n" : `    table_prefix: ${t.prefix}\n`}`,
        )
        .join("");
      writeFileSync(
        config,
        `state: ${state.url}\nlease_seconds: ${LEASE_SECONDS}\nfailure_wait_seconds: 0.2\nfailure_wait_max_seconds: 1\ncampaigns:\n${campaigns}`,
      );
    });

    afterAll(async () => {
      for (const replica of replicas) replica.child.kill("SIGKILL");
      await Promise.all(targets.map((t) => Promise.all([t.sim.stop(), t.receiver?.stop()])));
      await Promise.all([state?.drop(), postgres?.drop(), mariadb?.drop()]);
    });

    function startReplica(name: string): Replica {
      const child = Bun.spawn(["bun", CLI, "run", "--config", config], {
        env: { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, "data"), DBSYNC_LOG_DIR: join(dir, `logs-${name}`) },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      void new Response(child.stdout).text();
      const replica = { name, child, output: collectOutput(child.stderr) };
      replicas.push(replica);
      return replica;
    }

    /** The replica ids of the running processes, as their first console line names them. */
    async function idOf(replica: Replica): Promise<string> {
      await replica.output.waitFor(/replica (\S+)/);
      return /replica (\S+)/.exec(replica.output.text())?.[1] as string;
    }

    async function leases(): Promise<Lease[]> {
      const store = await openStateStore(state.url);
      try {
        const now = await store.leases.now();
        return (await store.leases.list()).filter((lease) => lease.expiresAt > now);
      } finally {
        await store.close();
      }
    }

    /** Every checkpoint, by campaign, mode and target. */
    async function checkpoints(): Promise<Map<string, string>> {
      const store = await openStateStore(state.url);
      try {
        return new Map((await store.listCheckpoints()).map((c) => [`${c.campaign}|${c.mode}|${c.target}`, c.value]));
      } finally {
        await store.close();
      }
    }

    /** Live leases per owner, sorted by owner id. */
    async function spread(): Promise<Record<string, number>> {
      const counts: Record<string, number> = {};
      for (const lease of await leases()) counts[lease.owner] = (counts[lease.owner] ?? 0) + 1;
      return counts;
    }

    async function waitForSpread(owners: string[], each: number[], what: string): Promise<void> {
      const wanted = Object.fromEntries(owners.map((owner, i) => [owner, each[i]]));
      const reached = await until(async () => JSON.stringify(sortKeys(await spread())) === JSON.stringify(sortKeys(wanted)), 30_000);
      if (!reached)
        throw new Error(`${what}: the leases did not spread as ${JSON.stringify(wanted)}; they are ${JSON.stringify(await spread())}`);
    }

    async function problems(target: Target): Promise<string> {
      if (target.receiver) {
        return summarise(deliveryProblems(expectedTransactions(target.sim.campaign, new Date("2000-01-01")), target.receiver.requests));
      }
      return describeDiff(await targetDifferences(target.url, target.sim.campaign, {}, target.prefix));
    }

    /** New activity in every campaign, then every target equal to its simulator. */
    async function expectAllEqual(what: string): Promise<void> {
      for (const target of targets) if (target.mode !== "db_init") target.sim.campaign.tick();
      for (const target of targets) {
        const equal = await until(async () => (await problems(target)) === "", 30_000);
        if (!equal) throw new Error(`${what}: ${target.id} ${target.mode} differs from its simulator:\n${await problems(target)}`);
      }
    }

    test("campaigns spread over the replicas, survive a kill and a pause, and rebalance when one joins", async () => {
      const a = startReplica("a");
      const aId = await idOf(a);
      await waitForSpread([aId], [12], "one replica alone");
      await a.output.waitFor(/ db_init → \S+: finished/);
      await expectAllEqual("one replica alone");

      const [b, c] = [startReplica("b"), startReplica("c")];
      const [bId, cId] = [await idOf(b), await idOf(c)];
      await waitForSpread([aId, bId, cId], [4, 4, 4], "three replicas");
      await expectAllEqual("after spreading over three");

      // A dies without a word: its leases run out and the others take its campaigns.
      a.child.kill("SIGKILL");
      await a.child.exited;
      await waitForSpread([bId, cId], [6, 6], "after SIGKILL of one");
      await expectAllEqual("after SIGKILL of one");

      // B stalls past its leases; C takes them all; B, woken, is refused every write and gives them up.
      b.child.kill("SIGSTOP");
      await waitForSpread([cId], [12], "while one is paused");
      await expectAllEqual("while one is paused");
      const before = await checkpoints();
      b.child.kill("SIGCONT");
      // Told by its keeper, by a refused write, or by its own clock before writing: it stops.
      await b.output.waitFor(/its lease went to another replica|went to another replica; this one writes nothing|may have run out/);
      // What the woken replica still had in hand moved no checkpoint back.
      for (const [key, value] of await checkpoints()) expect(value >= (before.get(key) ?? "")).toBe(true);
      await waitForSpread([bId, cId], [6, 6], "after the paused one woke");
      await expectAllEqual("after the paused one woke");

      const d = startReplica("d");
      const dId = await idOf(d);
      await waitForSpread([bId, cId, dId], [4, 4, 4], "a fourth joins");
      await expectAllEqual("after a fourth joined");

      const status = await runCli(["status", "--config", config, "--json"], { env: { HOME: dir } });
      expect(status.stderr).toBe("");
      expect(status.code).toBe(0);
      const overview = JSON.parse(status.stdout) as {
        campaigns: { campaign: string; owner: string | null; state: string }[];
        replicas: { live: boolean }[];
      };
      expect(overview.campaigns.map((c) => [c.campaign, c.owner !== null, c.state])).toEqual(
        targets.map((t) => [t.id, true, t.mode === "db_init" ? "finished" : "running"]),
      );
      expect(overview.replicas.filter((replica) => replica.live)).toHaveLength(3);

      for (const replica of [b, c, d]) replica.child.kill("SIGTERM");
      expect(await Promise.all([b, c, d].map((replica) => replica.child.exited))).toEqual([0, 0, 0]);
      // Stopped cleanly, they handed every lease back.
      expect(await leases()).toEqual([]);
      const initStarts = replicas
        .flatMap((replica) => replica.output.text().split("\n"))
        .filter((line) => / db_init → \S+: started$/.test(line));
      expect(initStarts).toHaveLength(1);
      for (const replica of replicas) {
        expect(replica.output.text()).not.toMatch(/^\s+at /m);
        expect(replica.output.text()).not.toContain("replica-token-");
      }
    });
  });
}

function sortKeys(record: Record<string, number | undefined>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(record).sort(([x], [y]) => x.localeCompare(y)));
}

replicaSuite("postgres");
replicaSuite("mysql");
