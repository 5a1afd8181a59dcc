// 8. A fleet: four `dbsync run` replicas share a state store on PostgreSQL and many small db_sync
//    campaigns, all served by one simulator server in this process. Measured: how long until the
//    leases are spread evenly and every target holds its contacts; after SIGKILL of one replica, how
//    long until the others own all its campaigns (and until they are spread evenly again); after a
//    fifth joins, how long until the spread is even again; the peak RSS of a replica. At the end every
//    target must hold as many rows as its simulator's campaign: a wrong result fails the bench.
//
//    Targets are libSQL files, one per campaign, not one PostgreSQL database with a table prefix per
//    campaign: every campaign opens connections of its own to its target (a pool and transaction lanes,
//    at least two at once), so 200 campaigns need some 400 connections, four times PostgreSQL's
//    default max_connections of 100. A file per campaign also keeps them from waiting on one
//    another's locks, as in the daemon memory bench; their engines count against the replica's memory.
import { type Client, createClient } from "@libsql/client";
import postgres from "postgres";
import { freshDatabase } from "../../test/helpers/databases.ts";
import { expectedRows } from "../../test/helpers/compare.ts";
import { TABLE_KEYS, type TableKey } from "../../src/core/sync/tables.ts";
import type { Campaign } from "../../src/simulator/campaign.ts";
import { type CampaignServer, serveCampaigns } from "./campaign-server.ts";
import { peakRss, scratch, TOKEN } from "./children.ts";
import { type Daemon, startDaemon } from "./daemon.ts";
import { LEASE_SECONDS, stopReplica } from "./failover.ts";

export interface FleetResult {
  campaigns: number;
  contactsPerCampaign: number;
  replicas: number;
  leaseSeconds: number;
  intervalSeconds: number;
  /** The figures below, named and formatted for the report (times in seconds from the event that starts each). */
  figures: { name: string; value: string }[];
  /** Start of four replicas → leases even, → every target holding its contacts. */
  startSeconds: { spread: number; loaded: number };
  /** SIGKILL of one replica → all its campaigns owned by the others, → all started by them, → spread evenly over the three. */
  killSeconds: { takenOver: number; resumed: number; spread: number; campaignsOfTheKilled: number };
  /** A fifth replica started → the spread even over the five. */
  joinSeconds: number;
  /** The highest peak RSS among the replicas, and the most campaigns one of them held at once. */
  peakRssMb: number;
  mostCampaignsHeld: number;
}

const REPLICAS = 4;
const INTERVAL_SECONDS = 1;
/** New calls in one campaign after the other while replicas die and join; none while the first load is timed. */
const ACTIVITY_MS = 100;
const POLL_MS = 100;

const campaignId = (index: number) => `BENCHFLEET${String(index + 1).padStart(6, "0")}`;

export async function fleet(campaigns: number, contacts: number): Promise<FleetResult> {
  const server = serveCampaigns(
    Array.from({ length: campaigns }, (_, index) => campaignId(index)),
    contacts,
    500,
  );
  const state = await freshDatabase("postgres");
  const stateSql = postgres(state.url, { max: 1, onnotice: () => {} });
  const dir = scratch("fleet");
  const targets = server.campaigns.map((_, index) => `file:${dir}/target-${index + 1}.db`);
  const readers = targets.map((url) => createClient({ url }));
  const config = configYaml(state.url, server, targets);
  const replicas: Daemon[] = [];
  const peaks: ReturnType<typeof peakRss>[] = [];
  let mostHeld = 0;
  const start = (name: string) => {
    const replica = startDaemon(dir, config, name);
    replicas.push(replica);
    peaks.push(peakRss(replica.pid));
    return replica;
  };
  /** Live leases per owner. */
  const spread = async () => {
    const rows = await stateSql<{ owner: string; n: number }[]>`
      SELECT owner, count(*)::int AS n FROM leases
      WHERE expires_at > extract(epoch FROM clock_timestamp()) * 1000 GROUP BY owner`;
    const counts = new Map(rows.map((row) => [row.owner, row.n]));
    mostHeld = Math.max(mostHeld, ...counts.values());
    return counts;
  };
  const evenOver = (counts: Map<string, number>, owners: readonly string[]) =>
    owners.every((owner) => Math.abs((counts.get(owner) ?? 0) - campaigns / owners.length) < 1) &&
    [...counts.values()].reduce((sum, n) => sum + n, 0) === campaigns;
  const idOf = async (replica: Daemon) => (await replica.waitFor(/replica ([^\s,;()]+)/, 60_000))[1] as string;
  try {
    // (a) Four replicas from nothing: leases spread, every target loaded.
    const startedAt = performance.now();
    const first = Array.from({ length: REPLICAS }, (_, index) => start(`replica-${index + 1}`));
    const ids = await Promise.all(first.map(idOf));
    const pending = new Set(server.campaigns.map((_, index) => index));
    let spreadAt: number | undefined;
    let loadedAt: number | undefined;
    await poll("four replicas start", 120_000 + campaigns * contacts * 20, async () => {
      if (spreadAt === undefined && evenOver(await spread(), ids)) spreadAt = performance.now();
      for (const index of pending) {
        const campaign = server.campaigns[index] as Campaign;
        if ((await count(readers[index] as Client, "contacts")) >= campaign.contacts().length) pending.delete(index);
      }
      if (loadedAt === undefined && pending.size === 0) loadedAt = performance.now();
      return spreadAt !== undefined && loadedAt !== undefined;
    });
    const startSeconds = { spread: ((spreadAt as number) - startedAt) / 1000, loaded: ((loadedAt as number) - startedAt) / 1000 };

    // (b) One replica dies without a word: its leases run out and the other three take them.
    server.startActivity(ACTIVITY_MS);
    const [victimId, ...survivors] = ids as [string, ...string[]];
    const ofTheKilled = new Set(
      (await stateSql<{ name: string }[]>`SELECT name FROM leases WHERE owner = ${victimId}`).map((row) => row.name),
    );
    // A campaign has resumed once a survivor's console says it started it after the kill.
    const consoleBefore = first.map((replica) => replica.console().length);
    const startedSinceKill = () =>
      first
        .slice(1)
        .map((replica, index) => replica.console().slice(consoleBefore[index + 1]))
        .join("\n");
    (first[0] as Daemon).kill("SIGKILL");
    const killedAt = performance.now();
    let takenOverAt: number | undefined;
    let resumedAt: number | undefined;
    let evenAt: number | undefined;
    await poll("after SIGKILL of one replica", 60_000, async () => {
      if (takenOverAt === undefined) {
        const rows = await stateSql<{ name: string; owner: string }[]>`
          SELECT name, owner FROM leases WHERE expires_at > extract(epoch FROM clock_timestamp()) * 1000`;
        const taken = rows.filter((row) => ofTheKilled.has(row.name) && row.owner !== victimId).length;
        if (taken === ofTheKilled.size) takenOverAt = performance.now();
      }
      if (resumedAt === undefined) {
        const lines = startedSinceKill();
        const started = (name: string) => new RegExp(`${name.split("|")[0]} db_sync → \\S+: started`).test(lines);
        if ([...ofTheKilled].every(started)) resumedAt = performance.now();
      }
      if (evenAt === undefined && evenOver(await spread(), survivors)) evenAt = performance.now();
      return takenOverAt !== undefined && resumedAt !== undefined && evenAt !== undefined;
    });
    const since = (at: number | undefined) => ((at as number) - killedAt) / 1000;
    const killSeconds = {
      takenOver: since(takenOverAt),
      resumed: since(resumedAt),
      spread: since(evenAt),
      campaignsOfTheKilled: ofTheKilled.size,
    };

    // (c) A fifth replica joins: the others hand over campaigns until all five hold their share.
    const joinedAt = performance.now();
    const fifth = start(`replica-${REPLICAS + 1}`);
    const fifthId = await idOf(fifth);
    await poll("after a fifth replica joined", 60_000, async () => evenOver(await spread(), [...survivors, fifthId]));
    const joinSeconds = (performance.now() - joinedAt) / 1000;

    server.pauseActivity();
    await checkRowCounts(server.campaigns, readers);
    const peakRssMb = Math.max(...peaks.map((peak) => peak.stop())) / 2 ** 20;
    const figures = [
      { name: "start of 4 replicas → leases even", value: `${startSeconds.spread.toFixed(1)} s` },
      { name: "start of 4 replicas → every target loaded", value: `${startSeconds.loaded.toFixed(1)} s` },
      { name: `SIGKILL → its ${ofTheKilled.size} campaigns owned by the others`, value: `${killSeconds.takenOver.toFixed(1)} s` },
      { name: `SIGKILL → its ${ofTheKilled.size} campaigns started by the others`, value: `${killSeconds.resumed.toFixed(1)} s` },
      { name: "SIGKILL → leases even over 3", value: `${killSeconds.spread.toFixed(1)} s` },
      { name: "5th replica started → leases even over 5", value: `${joinSeconds.toFixed(1)} s` },
      { name: `peak RSS of one replica (held up to ${mostHeld})`, value: `${peakRssMb.toFixed(0)} MB` },
    ];
    return {
      campaigns,
      contactsPerCampaign: contacts,
      replicas: REPLICAS,
      leaseSeconds: LEASE_SECONDS,
      intervalSeconds: INTERVAL_SECONDS,
      figures,
      startSeconds,
      killSeconds,
      joinSeconds,
      peakRssMb,
      mostCampaignsHeld: mostHeld,
    };
  } finally {
    for (const peak of peaks) peak.stop();
    await Promise.all(replicas.map(stopReplica));
    for (const reader of readers) reader.close();
    await stateSql.end();
    await Promise.all([state.drop(), server.stop()]);
  }
}

function configYaml(stateUrl: string, server: CampaignServer, targets: readonly string[]): string {
  const campaigns = server.campaigns.map(
    (campaign, index) => `  - campaign: ${campaign.id}
    token: ${TOKEN}
    mode: db_sync
    url: ${targets[index]}
    api_url: ${server.url}
    interval: ${INTERVAL_SECONDS}
`,
  );
  return `state: ${stateUrl}\nlease_seconds: ${LEASE_SECONDS}\ncampaigns:\n${campaigns.join("")}`;
}

/** Polls `done` every POLL_MS; throws, naming the step, when it does not hold within `timeoutMs`. */
async function poll(step: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`fleet: ${step}: not done within ${(timeoutMs / 1000).toFixed(0)} s`);
    await Bun.sleep(POLL_MS);
  }
}

/** Rows in a table of a target; 0 while the table is not made yet. */
async function count(reader: Client, table: TableKey): Promise<number> {
  try {
    const { rows } = await reader.execute(`SELECT count(*) AS n FROM "${table}"`);
    return Number(rows[0]?.n);
  } catch {
    return 0;
  }
}

/**
 * Every target holds, table by table, as many rows as its campaign has: nothing lost or doubled
 * through the kill and the hand-overs. The last calls get a minute to arrive; then a difference fails
 * the bench.
 */
async function checkRowCounts(campaigns: readonly Campaign[], readers: readonly Client[]): Promise<void> {
  const differences = async () => {
    const found: string[] = [];
    for (const [index, campaign] of campaigns.entries()) {
      const expected = expectedRows(campaign.contacts(), campaign.inboundCalls(), {});
      for (const table of TABLE_KEYS) {
        const stored = await count(readers[index] as Client, table);
        if (stored !== expected[table].length)
          found.push(`${campaign.id} ${table}: ${stored} rows, its campaign has ${expected[table].length}`);
      }
    }
    return found;
  };
  let found = await differences();
  const deadline = performance.now() + 60_000;
  while (found.length > 0 && performance.now() < deadline) {
    await Bun.sleep(1000);
    found = await differences();
  }
  if (found.length > 0) {
    throw new Error(
      `fleet: ${found.length} tables differ from their campaigns a minute after the last call:\n${found.slice(0, 10).join("\n")}`,
    );
  }
}
