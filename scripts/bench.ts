#!/usr/bin/env bun
// `bun run bench [--quick]`: measures dbsync on this machine and checks its speed and memory budgets.
// Every comparing figure is a ratio of two measurements of the same run. Starts PostgreSQL and
// MariaDB itself (scripts/databases.sh), writes bench/results.json (bench/results-quick.json with
// --quick) and prints a table. Budgets are reported, not asserted: a missed one does not fail the run.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { freshDatabase } from "../test/helpers/databases.ts";
import { binaryBench } from "./bench/binary.ts";
import { scratch } from "./bench/children.ts";
import { daemonMemory } from "./bench/daemon-memory.ts";
import { failover } from "./bench/failover.ts";
import { fleet } from "./bench/fleet.ts";
import { campaignRows, initialLoad, type LoadResult } from "./bench/initial-load.ts";
import { liveLag } from "./bench/lag.ts";
import { budgets, printReport } from "./bench/report.ts";
import { serverBench } from "./bench/server.ts";

const ROOT = resolve(import.meta.dir, "..");
const quick = process.argv.includes("--quick");
const SIZES = quick
  ? { load: 5_000, memory: [2_000, 20_000], lag: 60, serverContacts: 100_000, serverSeconds: 3, helpRuns: 10 }
  : { load: 50_000, memory: [10_000, 200_000], lag: 300, serverContacts: 1_000_000, serverSeconds: 10, helpRuns: 20 };
/** The daemon's budgets name 20 campaigns of 2,000 contacts; a quick run keeps the 20 campaigns. */
const DAEMON = { campaigns: 20, contacts: quick ? 500 : 2_000, failovers: quick ? 1 : 3 };
/** The fleet: 200 campaigns on four replicas (50 each); a quick run, 40 (10 each). */
const FLEET = { campaigns: quick ? 40 : 200, contacts: 20 };

const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
const startedAt = Date.now();

step("starting PostgreSQL and MariaDB (scripts/databases.sh)");
const urls = execFileSync("bash", [resolve(ROOT, "scripts/databases.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
for (const line of urls.trim().split("\n")) {
  const [name, ...value] = line.split("=");
  if (name) process.env[name] = value.join("=");
}

step(`making the rows of a ${SIZES.load.toLocaleString("en")}-contact campaign`);
const campaign = campaignRows(SIZES.load, 7);
const loads: LoadResult[] = [];
for (const database of ["libsql", "postgres", "mysql"] as const) {
  step(`initial load into ${database}, then its ceiling`);
  const fresh = database === "libsql" ? undefined : await freshDatabase(database);
  try {
    loads.push(await initialLoad(database, fresh?.url ?? `file:${scratch("load")}/target.db`, campaign, { ceiling: true }));
  } finally {
    await fresh?.drop();
  }
}

const memory: { contacts: number; peakRssMb: number; seconds: number }[] = [];
for (const contacts of [SIZES.memory[0] as number, SIZES.load, SIZES.memory[1] as number]) {
  const reuse = loads.find((l) => l.database === "libsql" && l.contacts === contacts);
  if (reuse) {
    memory.push({ contacts, peakRssMb: reuse.peakRssMb, seconds: reuse.seconds });
    continue;
  }
  step(`memory: db_init of ${contacts.toLocaleString("en")} contacts into libSQL`);
  const load = await initialLoad("libsql", `file:${scratch("memory")}/target.db`, campaignRows(contacts, 7), { ceiling: false });
  memory.push({ contacts, peakRssMb: load.peakRssMb, seconds: load.seconds });
}

step(`live lag over ${SIZES.lag} transactions (db_sync --interval 1 into PostgreSQL)`);
const lagDatabase = await freshDatabase("postgres");
const lag = await liveLag(lagDatabase.url, SIZES.lag).finally(() => lagDatabase.drop());

step(`server: ${SIZES.serverContacts.toLocaleString("en")} contacts, ${SIZES.serverSeconds} s per route under wrk`);
const server = await serverBench(SIZES.serverContacts, SIZES.serverSeconds);

step("binary: size and --help start-up");
const binary = binaryBench(SIZES.helpRuns);

step(`daemon memory: dbsync run with 1, then ${DAEMON.campaigns} db_init campaigns of ${DAEMON.contacts.toLocaleString("en")} contacts`);
const daemon = await daemonMemory(DAEMON.campaigns, DAEMON.contacts);

step(`failover: SIGKILL of a campaign's owner among two dbsync run replicas, ${DAEMON.failovers} times`);
const failovers = await failover(DAEMON.failovers);

step(`fleet: four dbsync run replicas, ${FLEET.campaigns} db_sync campaigns from one simulator server, a kill and a fifth replica`);
const fleetResult = await fleet(FLEET.campaigns, FLEET.contacts);

const results = {
  date: new Date().toISOString(),
  quick,
  seconds: (Date.now() - startedAt) / 1000,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "", memoryGb: totalmem() / 2 ** 30, bun: Bun.version },
  initialLoad: loads,
  memory,
  lag,
  server,
  binary,
  daemonMemory: daemon,
  failover: failovers,
  fleet: fleetResult,
};
const checked = budgets(results);
mkdirSync(resolve(ROOT, "bench"), { recursive: true });
const file = resolve(ROOT, quick ? "bench/results-quick.json" : "bench/results.json");
writeFileSync(file, `${JSON.stringify({ ...results, budgets: checked }, null, 2)}\n`);
printReport(results, checked);
process.stdout.write(`\nwritten to ${file} in ${results.seconds.toFixed(0)} s\n`);
