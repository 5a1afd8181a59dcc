// 7. Failover: two `dbsync run` replicas share a state store on PostgreSQL and a few db_sync campaigns
//    into PostgreSQL (one database, a table prefix per campaign) while the simulators, in this
//    process, keep adding calls. The owner of one campaign is killed (SIGKILL: no clean hand-over) and
//    the time until the other replica writes that campaign's next row is taken. Each repetition starts
//    from fresh databases and fresh replicas.
import postgres from "postgres";
import { until } from "../../test/helpers/compare.ts";
import { type FreshDatabase, freshDatabase } from "../../test/helpers/databases.ts";
import { type RunningSimulator, startSimulator } from "../../src/simulator/serve.ts";
import { scratch, TOKEN } from "./children.ts";
import { type Daemon, startDaemon } from "./daemon.ts";
import { percentile } from "./lag.ts";

export const LEASE_SECONDS = 5;
const CAMPAIGNS = 4;
const INTERVAL_SECONDS = 0.5;
/** New calls every 0.2 s: whenever the new owner first polls, there is something to write. */
const ACTIVITY_MS = 200;

export interface FailoverResult {
  leaseSeconds: number;
  campaigns: number;
  /** Per repetition: seconds from the SIGKILL of a campaign's owner to the first row its new owner wrote. */
  seconds: number[];
  medianSeconds: number;
}

const campaignId = (index: number) => `BENCHFAILOVER${String(index + 1).padStart(3, "0")}`;
const prefixOf = (index: number) => `failover${index + 1}_`;

export async function failover(repetitions: number): Promise<FailoverResult> {
  const simulators = Array.from({ length: CAMPAIGNS }, (_, index) =>
    startSimulator({ campaignId: campaignId(index), token: TOKEN, contacts: 200, seed: 300 + index, activityIntervalMs: ACTIVITY_MS }),
  );
  try {
    const seconds: number[] = [];
    for (let repetition = 0; repetition < repetitions; repetition++) seconds.push(await killAnOwner(simulators));
    return {
      leaseSeconds: LEASE_SECONDS,
      campaigns: CAMPAIGNS,
      seconds,
      medianSeconds: percentile(
        [...seconds].sort((a, b) => a - b),
        50,
      ),
    };
  } finally {
    await Promise.all(simulators.map((simulator) => simulator.stop()));
  }
}

function configYaml(state: FreshDatabase, target: FreshDatabase, simulators: RunningSimulator[]): string {
  return `state: ${state.url}
lease_seconds: ${LEASE_SECONDS}
campaigns:
${simulators
  .map(
    (simulator, index) => `  - campaign: ${simulator.campaign.id}
    token: ${TOKEN}
    mode: db_sync
    url: ${target.url}
    table_prefix: ${prefixOf(index)}
    api_url: ${simulator.url}
    interval: ${INTERVAL_SECONDS}
`,
  )
  .join("")}`;
}

/** One repetition: two replicas, the owner of one campaign killed; the seconds until its new owner wrote. */
async function killAnOwner(simulators: RunningSimulator[]): Promise<number> {
  const [state, target] = await Promise.all([freshDatabase("postgres"), freshDatabase("postgres")]);
  const stateSql = postgres(state.url, { max: 1, onnotice: () => {} });
  const targetSql = postgres(target.url, { max: 1, onnotice: () => {} });
  const dir = scratch("failover");
  const config = configYaml(state, target, simulators);
  const replicas = [startDaemon(dir, config, "replica-a"), startDaemon(dir, config, "replica-b")];
  try {
    // Each replica names itself in its first console line; the leases name their owner by that id.
    const ids = await Promise.all(replicas.map(async (replica) => (await replica.waitFor(/replica ([^\s,;()]+)/, 30_000))[1] as string));
    const transactions = async (index: number) => {
      const [row] = await targetSql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${targetSql(`${prefixOf(index)}transactions`)}`;
      return row?.n ?? 0;
    };
    const leases = () =>
      stateSql<{ name: string; owner: string; live: boolean }[]>`
        SELECT name, owner, expires_at > extract(epoch FROM clock_timestamp()) * 1000 AS live FROM leases ORDER BY name`;
    // Running: every campaign leased and writing, the leases spread over both replicas.
    const spread = await until(async () => {
      const rows = await leases();
      const owners = new Set(rows.filter((row) => row.live).map((row) => row.owner));
      if (rows.length !== simulators.length || !ids.every((id) => owners.has(id))) return false;
      return (await Promise.all(simulators.map((_, index) => transactions(index)))).every((n) => n > 0);
    }, 60_000);
    if (!spread)
      throw new Error(`failover: the campaigns were not running on both replicas within 60 s; leases: ${JSON.stringify(await leases())}`);
    // The kill falls anywhere within the replicas' renewal round, as a crash would.
    await Bun.sleep(Math.random() * (LEASE_SECONDS / 3) * 1000);
    const rows = await leases();
    const index = simulators.findIndex((simulator) => rows[0]?.name.startsWith(`${simulator.campaign.id}|`));
    const victim = replicas[ids.indexOf(rows[0]?.owner ?? "")];
    if (index < 0 || !victim) throw new Error(`failover: no campaign of this bench owned by a replica; leases: ${JSON.stringify(rows)}`);
    const survivor = ids.find((id) => id !== rows[0]?.owner);

    // What is measured: from the SIGKILL to the moment this process first sees the campaign's
    // transactions table hold more rows than it held 0.3 s after the kill. By then any commit the dead
    // replica had in flight has landed, and the new owner cannot have written yet: it may only take
    // the lease once the dead one's last renewal ran out, seconds after the kill. Calls kept coming in
    // meanwhile, so the new owner's first poll from the checkpoint writes them at once: the figure is
    // the rest of the lease, the survivor's next lease round, the campaign's start and first poll, and
    // this process's polling every 25 ms.
    victim.kill("SIGKILL");
    const killedAt = performance.now();
    await victim.exited;
    await Bun.sleep(300);
    const atKill = await transactions(index);
    const written = await until(async () => (await transactions(index)) > atKill, 30_000);
    const seconds = (performance.now() - killedAt) / 1000;
    if (!written) throw new Error(`failover: no new row of ${campaignId(index)} within 30 s of killing its owner`);
    const [lease] = await stateSql<{ owner: string }[]>`SELECT owner FROM leases WHERE name = ${rows[0]?.name ?? ""}`;
    if (lease?.owner !== survivor)
      throw new Error(`failover: ${campaignId(index)} is owned by ${lease?.owner}, not by the surviving ${survivor}`);
    return seconds;
  } finally {
    await Promise.all(replicas.map(stopReplica));
    await Promise.all([stateSql.end(), targetSql.end()]);
    await Promise.all([state.drop(), target.drop()]);
  }
}

/** SIGTERM, and SIGKILL after 10 s: a replica that hangs on its way out does not hold up the bench. */
export async function stopReplica(replica: Daemon): Promise<void> {
  replica.kill("SIGTERM");
  const timer = setTimeout(() => replica.kill("SIGKILL"), 10_000);
  await replica.exited;
  clearTimeout(timer);
}
