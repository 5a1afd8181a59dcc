// 3. Live lag: db_sync --interval 1 into PostgreSQL while the simulator (in this process) gets new
//    transactions; for each, the time from its appearing in the simulator to its row being in the
//    target, found by polling the target every 20 ms.
import postgres from "postgres";
import { startSimulator } from "../../src/simulator/serve.ts";
import { CAMPAIGN, CLI, measureCli, scratch, syncArgs, TOKEN } from "./children.ts";

export interface LagResult {
  transactions: number;
  medianSeconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export async function liveLag(url: string, wanted: number): Promise<LagResult> {
  const simulator = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 2000, seed: 11 });
  const state = `file:${scratch("lag")}/state.db`;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let child: ReturnType<typeof Bun.spawn> | undefined;
  try {
    await measureCli(syncArgs("db_init", simulator.url, url, state));
    child = Bun.spawn([process.execPath, CLI, ...syncArgs("db_sync", simulator.url, url, state, "--interval", "1")], {
      env: { PATH: process.env.PATH ?? "", HOME: scratch("home") },
      stdout: "ignore",
      stderr: "ignore",
    });
    // pending: "contact|fired" → when it appeared in the simulator
    const pending = new Map<string, number>();
    const lags: number[] = [];
    let nextTick = 0;
    const deadline = Date.now() + 60_000 + wanted * 400;
    while (lags.length < wanted && Date.now() < deadline) {
      if (performance.now() >= nextTick && lags.length + pending.size < wanted) {
        for (const t of simulator.campaign.tick().newTransactions) pending.set(`${t.contactId}|${Date.parse(t.fired)}`, performance.now());
        nextTick = performance.now() + 150 + Math.random() * 300;
      }
      if (pending.size > 0) {
        const contacts = [...new Set([...pending.keys()].map((key) => key.split("|")[0] as string))];
        const rows = await sql<
          { contact_id: string; fired: string }[]
        >`SELECT contact_id, fired FROM transactions WHERE contact_id IN ${sql(contacts)}`;
        const now = performance.now();
        for (const row of rows) {
          const key = `${row.contact_id}|${Date.parse(String(row.fired))}`;
          const since = pending.get(key);
          if (since === undefined) continue;
          lags.push((now - since) / 1000);
          pending.delete(key);
        }
      }
      await Bun.sleep(20);
    }
    if (lags.length < wanted) throw new Error(`live lag: only ${lags.length} of ${wanted} transactions arrived within the time allowed`);
    const sorted = [...lags].sort((a, b) => a - b);
    return {
      transactions: lags.length,
      medianSeconds: percentile(sorted, 50),
      p99Seconds: percentile(sorted, 99),
      maxSeconds: sorted.at(-1) as number,
    };
  } finally {
    child?.kill("SIGTERM");
    await child?.exited;
    await sql.end();
    await simulator.stop();
  }
}
