// 6. Daemon memory: one `dbsync run` process with many db_init campaigns against one with a single
//    such campaign, each campaign into a libSQL file of its own, state in a libSQL file. libSQL files
//    rather than PostgreSQL: their engine runs inside the measured process, so its caches and write
//    buffers count against the budget as a user's would (a server target keeps them out of sight), and
//    separate files keep the campaigns from waiting on one another's locks. The simulators run in this
//    process: they are not part of what is measured.
import { createClient } from "@libsql/client";
import { type RunningSimulator, startSimulator } from "../../src/simulator/serve.ts";
import { peakRss, scratch, TOKEN } from "./children.ts";
import { startDaemon } from "./daemon.ts";

export interface DaemonMemoryResult {
  contacts: number;
  runs: { campaigns: number; seconds: number; peakRssMb: number }[];
  /** Peak RSS of the run with every campaign over that of the run with one. */
  ratio: number;
}

/** `BENCHDAEMON00001`: sixteen characters, like a Dialfire campaign ID. */
const campaignId = (index: number) => `BENCHDAEMON${String(index + 1).padStart(5, "0")}`;

export async function daemonMemory(campaigns: number, contacts: number): Promise<DaemonMemoryResult> {
  const simulators = Array.from({ length: campaigns }, (_, index) =>
    startSimulator({ campaignId: campaignId(index), token: TOKEN, contacts, seed: 100 + index }),
  );
  try {
    const one = await measureRun(simulators.slice(0, 1));
    const all = await measureRun(simulators);
    return { contacts, runs: [one, all], ratio: all.peakRssMb / one.peakRssMb };
  } finally {
    await Promise.all(simulators.map((simulator) => simulator.stop()));
  }
}

/** One `dbsync run` with a db_init per simulator: its peak RSS once every campaign said it finished. */
async function measureRun(simulators: RunningSimulator[]): Promise<DaemonMemoryResult["runs"][number]> {
  const dir = scratch("daemon-memory");
  const targets = simulators.map((_, index) => `file:${dir}/target-${index + 1}.db`);
  const daemon = startDaemon(
    dir,
    `state: file:${dir}/state.db
campaigns:
${simulators
  .map(
    (simulator, index) => `  - campaign: ${simulator.campaign.id}
    token: ${TOKEN}
    mode: db_init
    url: ${targets[index]}
    api_url: ${simulator.url}
`,
  )
  .join("")}`,
  );
  const started = performance.now();
  const peak = peakRss(daemon.pid);
  try {
    const contacts = simulators.reduce((sum, simulator) => sum + simulator.campaign.contacts().length, 0);
    const deadline = Date.now() + 60_000 + contacts * 5;
    for (const simulator of simulators) {
      await daemon.waitFor(new RegExp(`${simulator.campaign.id} db_init → \\S+: finished`), Math.max(1, deadline - Date.now()));
    }
    const seconds = (performance.now() - started) / 1000;
    // The kernel's high-water mark only grows: read after the last campaign finished, it is the run's peak.
    const peakRssMb = peak.stop() / 2 ** 20;
    const code = await daemon.stop();
    if (code !== 0) throw new Error(`dbsync run with ${simulators.length} campaigns exited with ${code} on SIGTERM`);
    await checkTargets(simulators, targets);
    return { campaigns: simulators.length, seconds, peakRssMb };
  } finally {
    peak.stop();
    daemon.kill("SIGKILL");
  }
}

/** A campaign that wrote less would also weigh less: every target holds all of its campaign's contacts. */
async function checkTargets(simulators: RunningSimulator[], targets: string[]): Promise<void> {
  for (const [index, simulator] of simulators.entries()) {
    const client = createClient({ url: targets[index] as string });
    try {
      const { rows } = await client.execute("SELECT count(*) AS n FROM contacts");
      const stored = Number(rows[0]?.n);
      const expected = simulator.campaign.contacts().length;
      if (stored !== expected)
        throw new Error(`daemon memory: ${simulator.campaign.id} left ${stored} contacts, its campaign has ${expected}`);
    } finally {
      client.close();
    }
  }
}
