// `dbsync demo`: the whole sync against the built-in simulator, in under a minute, no account needed.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { createConsola } from "consola";
import { SqlTarget } from "../core/sql/target.ts";
import { TABLE_KEYS, type TableKey } from "../core/sync/tables.ts";
import { openDialect } from "../dialects/index.ts";
import { startSimulator } from "../simulator/serve.ts";
import { sleep } from "../core/common/retry.ts";
import { UsageError } from "./argv.ts";
import { valueFlag } from "./flag-schemas.ts";
import { onShutdown } from "./shutdown.ts";
import { parseSyncConfig } from "./sync-config.ts";
import { runSyncCommand } from "./sync-command.ts";

const CAMPAIGN = "DEMO_CAMPAIGN";
const TOKEN = "demo-token";

export const demoCommand = defineCommand({
  meta: { name: "demo", description: "Sync a simulated campaign into a local libSQL file and watch it update" },
  args: {
    dir: valueFlag("Folder for the demo database (default ./dbsync-demo)", "path"),
    contacts: valueFlag("Contacts in the simulated campaign (default 500)", "n"),
  },
  async run({ args }) {
    const dir = resolve(args.dir ?? "dbsync-demo");
    const contacts = Number(args.contacts ?? 500);
    if (!Number.isInteger(contacts) || contacts < 1 || contacts > 100_000) {
      throw new UsageError("--contacts must be a whole number from 1 to 100000");
    }
    // The demo's folder is its own to make (a database's folder never is: see the libSQL dialect).
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new UsageError(`--dir: cannot make the folder ${dir} (${(error as NodeJS.ErrnoException).code ?? "failed"})`);
    }
    // Only the demo's own files go, never anything else the folder holds.
    for (const name of readdirSafe(dir)) if (/^(campaign|state)\.db(-wal|-shm|-journal)?$/.test(name)) rmSync(join(dir, name));
    const signal = onShutdown();
    const simulator = await startSimulator({ port: 0, campaignId: CAMPAIGN, token: TOKEN, contacts, seed: 1, activityIntervalMs: 0 });
    const say = (line: string) => process.stdout.write(`${line}\n`);
    const logger = createConsola({ level: 1 }); // only warnings and errors of the sync itself
    const target = new SqlTarget(await openDialect(`file:${dir}/campaign.db`), "");
    try {
      say(`1. A simulated Dialfire campaign with ${contacts} contacts runs at ${simulator.url}`);
      const common = [
        "--c",
        CAMPAIGN,
        "--ct",
        TOKEN,
        "--api-url",
        simulator.url,
        "--url",
        `file:${dir}/campaign.db`,
        "--state",
        `file:${dir}/state.db`,
      ];
      say("2. db_init copies the whole campaign:");
      const init = await runSyncCommand({ config: config(["--a", "db_init", ...common]), signal, quiet: true, logger });
      if (init !== 0) throw new Error("db_init failed");
      say(await countsLine(target));

      say("3. db_sync keeps it up to date while agents work (new calls every second, a poll every 2 s):");
      const stopSync = new AbortController();
      const syncDone = runSyncCommand({
        config: config(["--a", "db_sync", "--interval", "2", ...common]),
        signal: AbortSignal.any([signal, stopSync.signal]),
        quiet: true,
        logger,
      });
      let before = await counts(target);
      for (let second = 1; second <= 12 && !signal.aborted; second++) {
        simulator.campaign.tick();
        await sleep(1000, signal).catch(() => {});
        if (second % 3 === 0) {
          const now = await counts(target);
          const grown = TABLE_KEYS.filter((key) => now[key] > before[key]).map((key) => `${key} +${now[key] - before[key]}`);
          say(`   after ${second} s: ${grown.length ? grown.join(", ") : "no new rows yet"}`);
          before = now;
        }
      }
      stopSync.abort();
      await syncDone;
      say(await countsLine(target));
      say(`Done. The database is ${dir}/campaign.db; open it with any SQLite tool.`);
    } finally {
      await target.close();
      await simulator.stop();
    }
  },
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function config(argv: string[]) {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) flags[(argv[i] as string).slice(2)] = argv[i + 1] as string;
  return parseSyncConfig(flags);
}

async function counts(target: SqlTarget): Promise<Record<TableKey, number>> {
  const entries = await Promise.all(TABLE_KEYS.map(async (key) => [key, await target.count(key)] as const));
  return Object.fromEntries(entries) as Record<TableKey, number>;
}

async function countsLine(target: SqlTarget): Promise<string> {
  const c = await counts(target);
  return `   rows: ${TABLE_KEYS.map((key) => `${key} ${c[key]}`).join(", ")}`;
}
