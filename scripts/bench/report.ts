// The speed and memory budgets checked against one run's figures, and the table printed at its end.
import type { BinaryResult } from "./binary.ts";
import type { DaemonMemoryResult } from "./daemon-memory.ts";
import type { FailoverResult } from "./failover.ts";
import type { FleetResult } from "./fleet.ts";
import type { LoadResult } from "./initial-load.ts";
import type { LagResult } from "./lag.ts";
import type { ServerResult } from "./server.ts";

export interface Results {
  quick: boolean;
  initialLoad: LoadResult[];
  memory: { contacts: number; peakRssMb: number; seconds: number }[];
  lag: LagResult;
  server: ServerResult;
  binary: BinaryResult;
  daemonMemory: DaemonMemoryResult;
  failover: FailoverResult;
  fleet: FleetResult;
}

export interface Budget {
  name: string;
  budget: string;
  measured: string;
  met: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const mb = (x: number) => `${x.toFixed(0)} MB`;

export function budgets(r: Results): Budget[] {
  const list: Budget[] = [];
  for (const database of ["postgres", "libsql"] as const) {
    const load = r.initialLoad.find((l) => l.database === database);
    const share = load?.ofCeiling ?? 0;
    list.push({ name: `initial load into ${database}`, budget: "≥ 60% of the ceiling", measured: pct(share), met: share >= 0.6 });
  }
  const peak = Math.max(...r.memory.map((m) => m.peakRssMb));
  list.push({ name: "peak RSS of db_init, every size", budget: "< 200 MB", measured: mb(peak), met: peak < 200 });
  const smallest = r.memory[0];
  const largest = r.memory.at(-1);
  const growth = smallest && largest ? largest.peakRssMb / smallest.peakRssMb - 1 : Number.NaN;
  list.push({
    name: `peak RSS ${smallest?.contacts.toLocaleString("en")} → ${largest?.contacts.toLocaleString("en")} contacts`,
    budget: "within 20%",
    measured: `${growth >= 0 ? "+" : ""}${pct(growth)}`,
    met: Math.abs(growth) <= 0.2,
  });
  list.push({
    name: "live lag p99 at --interval 1",
    budget: "< 3 s",
    measured: `${r.lag.p99Seconds.toFixed(2)} s`,
    met: r.lag.p99Seconds < 3,
  });
  list.push({
    name: "phonecalls create vs bare route",
    budget: "≥ 30% of its req/s",
    measured: pct(r.server.createOfBare),
    met: r.server.createOfBare >= 0.3,
  });
  // Talkdesk asks for one page after the other; under 8 connections at once the p99 is mostly the
  // wait behind the other 7 (both are in the table and the JSON).
  list.push({
    name: `Talkdesk page p99 at ${r.server.contacts.toLocaleString("en")} contacts`,
    budget: "< 50 ms",
    measured: `${r.server.talkdeskSequential.p99Ms.toFixed(1)} ms (8 at once: ${r.server.talkdeskPage.p99Ms.toFixed(1)} ms)`,
    met: r.server.talkdeskSequential.p99Ms < 50,
  });
  const [one, all] = r.daemonMemory.runs;
  list.push({
    name: `dbsync run peak RSS, ${all?.campaigns} campaigns vs one`,
    budget: "≤ 1.5 × one",
    measured: `${r.daemonMemory.ratio.toFixed(2)} × (${mb(all?.peakRssMb ?? 0)} vs ${mb(one?.peakRssMb ?? 0)})`,
    met: r.daemonMemory.ratio <= 1.5,
  });
  const failoverBudget = r.failover.leaseSeconds + 2;
  list.push({
    name: `failover after SIGKILL, median of ${r.failover.seconds.length}`,
    budget: `≤ ${failoverBudget} s (lease_seconds + 2)`,
    measured: `${r.failover.medianSeconds.toFixed(1)} s`,
    met: r.failover.medianSeconds <= failoverBudget,
  });
  // A killed replica's campaigns resume elsewhere within lease_seconds and one renewal interval (a
  // third of it, the longest a replica's rounds are apart): here all of them at once, each started
  // by its new owner.
  const takeOverBudget = Math.round(((r.fleet.leaseSeconds * 4) / 3) * 10) / 10;
  list.push({
    name: `fleet: all ${r.fleet.killSeconds.campaignsOfTheKilled} campaigns of a killed replica resumed`,
    budget: `≤ ${takeOverBudget} s (lease_seconds and a third)`,
    measured: `${r.fleet.killSeconds.resumed.toFixed(1)} s`,
    met: r.fleet.killSeconds.resumed <= takeOverBudget,
  });
  return list;
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ");
  return [line(cells[0] as string[]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

const n = (x: number) => Math.round(x).toLocaleString("en");

export function printReport(r: Results, checked: Budget[]): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(`\nInitial load (${n(r.initialLoad[0]?.contacts ?? 0)} contacts, ${n(r.initialLoad[0]?.rows.total ?? 0)} rows)`);
  out(
    table(
      [
        "database",
        "wall s",
        "rows/s",
        "contacts/s",
        "transactions/s",
        "connections/s",
        "recordings/s",
        "peak RSS",
        "ceiling rows/s",
        "of ceiling",
      ],
      r.initialLoad.map((l) => [
        l.database,
        l.seconds.toFixed(1),
        n(l.rowsPerSecond),
        n(l.rowsPerSecondByTable.contacts),
        n(l.rowsPerSecondByTable.transactions),
        n(l.rowsPerSecondByTable.connections),
        n(l.rowsPerSecondByTable.recordings),
        mb(l.peakRssMb),
        n(l.ceilingRowsPerSecond ?? 0),
        pct(l.ofCeiling ?? 0),
      ]),
    ),
  );
  out("\nMemory of db_init (libSQL)");
  out(
    table(
      ["contacts", "wall s", "peak RSS"],
      r.memory.map((m) => [n(m.contacts), m.seconds.toFixed(1), mb(m.peakRssMb)]),
    ),
  );
  out(
    `\nLive lag over ${r.lag.transactions} transactions: median ${r.lag.medianSeconds.toFixed(2)} s, p99 ${r.lag.p99Seconds.toFixed(2)} s, max ${r.lag.maxSeconds.toFixed(2)} s`,
  );
  out(`\nServer (${n(r.server.contacts)} contacts in libSQL; phone index built in ${r.server.phoneIndexBuildSeconds.toFixed(1)} s)`);
  out(
    table(
      ["route (8 connections)", "req/s", "p50 ms", "p99 ms"],
      [
        ["bare Hono route", n(r.server.bare.requestsPerSecond), r.server.bare.p50Ms.toFixed(2), r.server.bare.p99Ms.toFixed(2)],
        [
          "phonecalls create",
          n(r.server.phonecallsCreate.requestsPerSecond),
          r.server.phonecallsCreate.p50Ms.toFixed(2),
          r.server.phonecallsCreate.p99Ms.toFixed(2),
        ],
        [
          "Talkdesk page of 500",
          n(r.server.talkdeskPage.requestsPerSecond),
          r.server.talkdeskPage.p50Ms.toFixed(2),
          r.server.talkdeskPage.p99Ms.toFixed(2),
        ],
        [
          "  one at a time",
          n(r.server.talkdeskSequential.requestsPerSecond),
          r.server.talkdeskSequential.p50Ms.toFixed(2),
          r.server.talkdeskSequential.p99Ms.toFixed(2),
        ],
      ],
    ),
  );
  out(
    `\nBinary linux-x64 ${r.binary.version}: ${r.binary.sizeMb.toFixed(0)} MB, --help median ${r.binary.helpMedianMs.toFixed(0)} ms (p90 ${r.binary.helpP90Ms.toFixed(0)} ms, ${r.binary.runs} runs)`,
  );
  out(`\nDaemon memory (dbsync run, db_init of ${n(r.daemonMemory.contacts)} contacts per campaign, each into its own libSQL file)`);
  out(
    table(
      ["campaigns", "wall s", "peak RSS"],
      r.daemonMemory.runs.map((run) => [run.campaigns, run.seconds.toFixed(1), mb(run.peakRssMb)]),
    ),
  );
  out(
    `\nFailover (2 replicas, ${r.failover.campaigns} db_sync campaigns, lease_seconds ${r.failover.leaseSeconds}, state on PostgreSQL): ` +
      `${r.failover.seconds.map((s) => `${s.toFixed(1)} s`).join(", ")} from SIGKILL to the new owner's first row`,
  );
  out(
    `\nFleet (${r.fleet.replicas} dbsync run replicas, ${n(r.fleet.campaigns)} db_sync campaigns of ${r.fleet.contactsPerCampaign} contacts ` +
      `from one simulator server, each into a libSQL file; lease_seconds ${r.fleet.leaseSeconds}, state on PostgreSQL)`,
  );
  out(
    table(
      ["", "measured"],
      r.fleet.figures.map((figure) => [figure.name, figure.value]),
    ),
  );
  out(`\nBudgets${r.quick ? " (quick run: smaller sizes than the budgets name)" : ""}`);
  out(
    table(
      ["", "budget", "measured", ""],
      checked.map((b) => [b.name, b.budget, b.measured, b.met ? "met" : "MISSED"]),
    ),
  );
}
