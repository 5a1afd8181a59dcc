#!/usr/bin/env bun
// The dbsync command line: `sync` (also reached by the original's flat flags), `run` (many campaigns
// from a config file), `webhook failed|replay`,
// `serve`, `tokens`, `phonecalls push`, `simulate`, `demo`.
import { type ArgsDef, type CommandDef, defineCommand, parseArgs, renderUsage, runCommand } from "citty";
import { stripAnsi } from "consola/utils";
import { inUserTerms, normaliseFlags, routeSubcommand, UsageError, withEnvironment } from "./cli/argv.ts";
import { endQuietlyWhenTheReaderLeaves, READER_GONE_EXIT, stoppedBecauseTheReaderLeft } from "./cli/closed-output.ts";
import { absoluteFileUrl, checkDatabaseFlag } from "./cli/file-urls.ts";
import { TargetUrlError } from "./core/sql/dialect.ts";
import { redact } from "./cli/logger.ts";
import { demoCommand } from "./cli/demo-command.ts";
import { phonecallsCommand } from "./cli/phonecalls-command.ts";
import { serveCommand } from "./cli/serve-command.ts";
import { simulateCommand } from "./cli/simulate-command.ts";
import { tokensCommand } from "./cli/tokens-command.ts";
import { webhookCommand } from "./cli/webhook-command.ts";
import { parseSyncConfig, SYNC_FLAGS } from "./cli/sync-config.ts";
import { runSyncCommand } from "./cli/sync-command.ts";
import { runManyCommand } from "./cli/run-command.ts";
import { statusCommand } from "./cli/status-command.ts";
import { onShutdown } from "./cli/shutdown.ts";
import pkg from "../package.json" with { type: "json" };

/** Set by scripts/compile.ts in a binary: `0.1.0 (5b77168)`. */
declare const DBSYNC_BUILD_VERSION: string | undefined;
const BUILD_VERSION = typeof DBSYNC_BUILD_VERSION === "string" ? DBSYNC_BUILD_VERSION : undefined;

/** The binary's version; from source, package.json's version and the checkout's commit when git can tell. */
function version(): string {
  if (BUILD_VERSION !== undefined) return BUILD_VERSION;
  const root = `${import.meta.dir}/..`;
  try {
    const git = Bun.spawnSync(["git", "-C", root, "rev-parse", "--show-prefix", "--short", "HEAD"], { stdout: "pipe", stderr: "ignore" });
    const [prefix, commit] = git.stdout.toString().split("\n");
    // Only this project's own checkout: not a repository it was copied or installed into.
    if (!git.success || prefix !== "" || !commit) return pkg.version;
    const status = Bun.spawnSync(["git", "-C", root, "status", "--porcelain"], { stdout: "pipe", stderr: "ignore" });
    return `${pkg.version} (${commit}${status.stdout.toString().trim() !== "" ? "-dirty" : ""})`;
  } catch {
    return pkg.version; // no git
  }
}

const EXAMPLES = `
Examples:
  # Copy a whole campaign into the embedded database (file under /var/opt/dbsync or ~/.dbsync)
  dbsync --a db_init --c MY_CAMPAIGN_ID --ct MY_SYNC_CLIENT_TOKEN

  # Keep a SQLite file up to date every minute, only human updates of tasks fc_* and qc_*
  dbsync --a db_sync --fm hi_updates_only --fp 'fc_,qc_' --c MY_CAMPAIGN_ID --ct MY_SYNC_CLIENT_TOKEN \\
    --s 2018-02-01 --url file:/var/opt/dbsync/campaign.db --tp dfire_

  # Forward every new transaction to a web service, signed; failed deliveries: dbsync webhook failed
  DBSYNC_WEBHOOK_SECRET=whsec_… dbsync --a webhook --c MY_CAMPAIGN_ID --ct MY_SYNC_CLIENT_TOKEN \\
    --url https://example.com/api/transactions/

  # Many campaigns in one process, from a YAML, TOML or JSON file (SIGHUP reads it again)
  dbsync run --config /etc/dbsync/dbsync.yaml

  # Try it without a Dialfire account
  dbsync demo

Every flag can also be given as an environment variable DBSYNC_<FLAG>, e.g. DBSYNC_CT, DBSYNC_API_URL;
with DBSYNC_A set, dbsync without arguments runs the sync from the environment alone.
Exit codes: 0 done or stopped, 1 a failure, 2 a usage error (a bad flag, variable or URL).`;

const syncCommand = defineCommand({
  meta: { name: "sync", description: "Sync a Dialfire campaign into an SQL database or to a webhook (also: dbsync --a MODE …)" },
  args: SYNC_FLAGS,
  async run({ args }) {
    const config = parseSyncConfig(withEnvironment(args, SYNC_FLAGS, process.env));
    // Before any request and before a log file: a malformed target is the user's to fix.
    if (config.mode !== "webhook" && config.url !== undefined) {
      await checkDatabaseFlag("url", absoluteFileUrl(config.url));
    }
    const signal = onShutdown();
    process.exitCode = await runSyncCommand({ config, signal });
  },
});

const main = defineCommand({
  meta: {
    name: "dbsync",
    version: BUILD_VERSION ?? pkg.version,
    description: "Dialfire/Megadialer campaign sync (drop-in for dbsync2)",
  },
  subCommands: {
    sync: syncCommand,
    run: runManyCommand,
    status: statusCommand,
    webhook: webhookCommand,
    serve: serveCommand,
    tokens: tokensCommand,
    phonecalls: phonecallsCommand,
    simulate: simulateCommand,
    demo: demoCommand,
  },
});

const commands: Record<string, CommandDef<ArgsDef>> = {
  sync: syncCommand as CommandDef<ArgsDef>,
  run: runManyCommand as CommandDef<ArgsDef>,
  status: statusCommand as CommandDef<ArgsDef>,
  webhook: webhookCommand as CommandDef<ArgsDef>,
  serve: serveCommand as CommandDef<ArgsDef>,
  tokens: tokensCommand as CommandDef<ArgsDef>,
  phonecalls: phonecallsCommand as CommandDef<ArgsDef>,
  simulate: simulateCommand as CommandDef<ArgsDef>,
  demo: demoCommand as CommandDef<ArgsDef>,
};

async function cli(argv: string[]): Promise<void> {
  // Every flag can come from the environment: with the mode there, no arguments mean a sync (as a
  // container or a systemd EnvironmentFile= starts it), not a request for help.
  const modeInEnvironment = process.env.DBSYNC_A !== undefined || process.env.DIALFIRE_A !== undefined;
  const routed = routeSubcommand(argv.length === 0 && modeInEnvironment ? ["sync"] : argv, Object.keys(commands));
  const [name, ...afterName] = routed;
  let rest = afterName;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printUsage(`${await renderUsage(main)}\n${EXAMPLES}`);
    return;
  }
  if (name === "--version") {
    process.stdout.write(`${version()}\n`);
    return;
  }
  let command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}": use ${Object.keys(commands).join(", ")} (see dbsync --help)`);
  let parent: CommandDef<ArgsDef> = main as CommandDef<ArgsDef>;
  let path = name;
  while (command.subCommands) {
    const subs = command.subCommands as Record<string, CommandDef<ArgsDef>>;
    const [subName, ...subRest] = rest;
    if (subName === undefined || subName.startsWith("-")) {
      printUsage(await renderUsage(command, parent));
      if (subName === "--help" || subName === "-h") return;
      throw new UsageError(`"${path}" needs a subcommand: ${Object.keys(subs).join(", ")}`);
    }
    const sub = subs[subName];
    if (!sub) throw new UsageError(`unknown command "${path} ${subName}": use ${Object.keys(subs).join(", ")}`);
    parent = command;
    command = sub;
    path = `${path} ${subName}`;
    rest = subRest;
  }
  const defs = (command.args ?? {}) as ArgsDef;
  const args = normaliseFlags(rest, defs);
  if (args.includes("--help")) {
    printUsage(`${await renderUsage(command, parent)}${command === commands.sync ? `\n${EXAMPLES}` : ""}`);
    return;
  }
  const stray = parseArgs(args, defs)._[0];
  if (stray !== undefined) throw new UsageError(`unexpected argument "${stray}" (flags are written --name value)`);
  await runCommand(command, { rawArgs: args });
}

/** Colours only for a person at a terminal, not in a pipe or a file. */
function printUsage(text: string): void {
  process.stdout.write(`${process.stdout.isTTY ? text : stripAnsi(text)}\n`);
}

endQuietlyWhenTheReaderLeaves();
try {
  await cli(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError || error instanceof TargetUrlError;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${redact(usage ? inUserTerms(message) : message)}\n`);
  process.exitCode = usage ? 2 : 1;
}
// Not 0: a supervisor must not take a sync that lost its output's reader for one stopped on purpose.
if (stoppedBecauseTheReaderLeft()) process.exitCode = READER_GONE_EXIT;
