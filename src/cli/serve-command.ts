// `dbsync serve`: the Hono app of src/server.ts on Bun.serve, over the database the sync writes.
import { existsSync, readFileSync } from "node:fs";
import { defineCommand } from "citty";
import type { ConsolaInstance } from "consola";
import * as v from "valibot";
import { checkMappingFile, type MappingFile } from "../core/talkdesk/contact-mapping.ts";
import { openStateStore } from "../state/open.ts";
import { hashToken, tokenList } from "../core/phonecalls/tokens.ts";
import { TargetError } from "../core/sql/dialect.ts";
import { openDialect } from "../dialects/index.ts";
import { parseLibsqlUrl } from "../dialects/sqlite/libsql.ts";
import { createApp } from "../server.ts";
import { accessFields, accessLine } from "../server/access.ts";
import { serverDeps } from "../server/deps.ts";
import { UsageError, withEnvironment } from "./argv.ts";
import {
  decimal,
  LISTEN_HOST_SCHEMA,
  LOG_OUTPUT_FLAGS,
  LOG_SCHEMA,
  nonEmptyText,
  parseFlags,
  requiredText,
  switchFlag,
  TABLE_PREFIX_SCHEMA,
  valueFlag,
  wholeNumber,
} from "./flag-schemas.ts";
import { listenError } from "./listen-errors.ts";
import { addSecret, announceLogFile, consolaLevel, createLogger, redact } from "./logger.ts";
import { createLogFile } from "./paths.ts";
import { onShutdown } from "./shutdown.ts";
import { stateStoreUrl } from "./state-option.ts";
import { absoluteFileUrl, checkDatabaseFlag } from "./file-urls.ts";

const SERVE_FLAGS = {
  url: valueFlag("The database the sync writes (required), as for sync --url", "url"),
  state: valueFlag("State store: tokens, the sync's checkpoints (default: the sync's)", "url"),
  tp: valueFlag("Table-name prefix the sync uses, e.g. dfire_", "prefix"),
  host: valueFlag("Address to listen on (default 127.0.0.1; behind a reverse proxy)", "ip"),
  port: valueFlag("Port (default 8080)", "n"),
  "talkdesk-mapping": valueFlag("JSON file: which contact columns feed Talkdesk's name, phones, emails, … (see README)", "file"),
  "page-size": valueFlag("Contacts per Talkdesk page (default 500)", "n"),
  settle: valueFlag("Seconds a contact must have been written before Talkdesk gets it (default 60)", "s"),
  l: valueFlag("Log level 0=critical … 4=info, one line per request (default) … 5=debug", "0-5"),
  v: switchFlag("Log everything to stdout instead of a log file"),
  ...LOG_OUTPUT_FLAGS,
} as const;

const ServeSchema = v.object({
  url: requiredText("the database (--url) is required"),
  state: v.optional(nonEmptyText("state")),
  tp: TABLE_PREFIX_SCHEMA,
  host: LISTEN_HOST_SCHEMA,
  port: v.optional(wholeNumber("port", 0, 65535), "8080"),
  "talkdesk-mapping": v.optional(v.string()),
  "page-size": v.optional(wholeNumber("page-size", 1, 10_000), "500"),
  settle: v.optional(decimal("settle", "a number of seconds", 0, 3600), "60"),
  ...LOG_SCHEMA,
});

/**
 * The server only reads the database the sync writes: a `file:` URL naming no file is a typo (which
 * libSQL would answer with a new, empty database that looks healthy).
 */
async function requireDatabaseFile(url: string): Promise<void> {
  await checkDatabaseFlag("url", url);
  if (url === ":memory:" || /^file::memory:/i.test(url)) {
    throw new UsageError("--url: an in-memory database holds no contacts; serve reads the database the sync writes");
  }
  if (!/^file:/i.test(url)) return;
  const path = parseLibsqlUrl(url).filePath;
  if (path && !existsSync(path)) {
    throw new UsageError(`--url: there is no database file ${path}; serve reads the database the sync writes and never creates one`);
  }
}

function readMapping(path: string | undefined): MappingFile | undefined {
  if (path === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`--talkdesk-mapping ${path}: ${error instanceof SyntaxError ? "not JSON" : "cannot be read"}`);
  }
  const checked = checkMappingFile(raw);
  if ("error" in checked) throw new UsageError(`--talkdesk-mapping ${path}: ${checked.error}`);
  return checked.mapping;
}

export const serveCommand = defineCommand({
  meta: { name: "serve", description: "Serve the Talkdesk bridge and the phonecalls web service over the synced contacts" },
  args: SERVE_FLAGS,
  async run({ args }) {
    const flags = parseFlags(ServeSchema, { url: undefined, ...withEnvironment(args, SERVE_FLAGS, process.env) });
    const mapping = readMapping(flags["talkdesk-mapping"]);
    const username = process.env.DBSYNC_TALKDESK_USERNAME;
    const password = process.env.DBSYNC_TALKDESK_PASSWORD;
    addSecret(password);
    const envTokens = tokenList(process.env.DBSYNC_PHONECALLS_TOKENS);
    for (const token of envTokens) addSecret(token);
    const targetUrl = absoluteFileUrl(flags.url);
    await requireDatabaseFile(targetUrl);
    const state = await openStateStore(stateStoreUrl(flags.state));
    const dialect = await openDialect(targetUrl).catch(async (error: unknown) => {
      await state.close();
      throw error;
    });
    // Made once the port is known (it names the file); what fails before goes to stderr.
    let log: ConsolaInstance | undefined;
    const report = (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (log) log.error(message);
      else process.stderr.write(`error: ${redact(message)}\n`);
    };
    const { deps, phoneIndex } = serverDeps(
      dialect,
      {
        prefix: flags.tp,
        talkdesk: {
          credentials: username && password ? { username, password } : undefined,
          mapping,
          pageSize: flags["page-size"],
          settleMs: flags.settle * 1000,
        },
      },
      {
        tokenHashes: cachedTokenHashes(envTokens.map(hashToken), () => state.tokens.activeHashes(), report),
        checkpoints: () => state.listCheckpoints(),
        ready: () => state.ping(),
        onError: report,
      },
    );
    const app = createApp({ ...deps, onAccess: (entry) => log?.info(accessLine(entry), accessFields(entry)) });
    let server: ReturnType<typeof Bun.serve>;
    try {
      server = Bun.serve({
        hostname: flags.host,
        port: flags.port,
        fetch: app.fetch,
        // The app answers its own failures; this is the last net, still JSON and still logged.
        error: (error) => {
          report(error);
          return Response.json({ error: "internal error; see the server's log" }, { status: 500 });
        },
      });
    } catch (error) {
      await dialect.close();
      await state.close();
      throw listenError(flags.host, flags.port, error);
    }
    // Before anything is awaited: no request is answered before the log exists.
    let logFile: string | undefined;
    try {
      logFile = flags.v ? undefined : createLogFile(`serve_${server.port}`);
    } catch (error) {
      // No log folder can be written: said in one line, and the server does not keep the process up.
      server.stop(true);
      await Promise.allSettled([dialect.close(), state.close()]);
      throw error;
    }
    const logger = createLogger({
      verbose: flags.v,
      level: consolaLevel(flags.l),
      logFile,
      consoleLevel: 1,
      format: flags["log-format"],
      context: { mode: "serve" },
      keepDays: flags["log-keep-days"],
    });
    log = logger;
    announceLogFile(logger, flags["log-format"], logFile);
    if (!username || !password) {
      logger.warn("DBSYNC_TALKDESK_USERNAME and DBSYNC_TALKDESK_PASSWORD are not set: Talkdesk requests are refused");
    }
    if (envTokens.length === 0 && (await state.tokens.activeHashes()).length === 0) {
      logger.warn("no phonecalls token (DBSYNC_PHONECALLS_TOKENS, or dbsync tokens add): phonecall requests are refused");
    }
    const columns = await deps.contacts.columns().catch(() => undefined);
    if (columns?.length === 0) {
      logger.warn(
        `the contacts table ${flags.tp}contacts does not exist in ${dialect.safeUrl}: ` +
          "/readyz, the Talkdesk bridge and phonecall creation answer 503 until the sync has written it",
      );
    }
    phoneIndex.warmUp();
    const address = flags.host.includes(":") ? `[${flags.host}]` : flags.host;
    const listening = `dbsync serve on http://${address}:${server.port} over ${dialect.safeUrl}`;
    process.stdout.write(`${listening}\n`);
    if (logFile) logger.info(listening);
    const signal = onShutdown();
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    logger.info("stopping");
    await server.stop();
    await dialect.close().catch((error: unknown) => {
      if (!(error instanceof TargetError)) throw error;
    });
    await state.close();
  },
});

/**
 * Hashes of the allowed tokens, read from the state store at most every few seconds (a revoked
 * token is refused within 5 s). When the store cannot be read, the tokens of the environment still
 * work.
 */
function cachedTokenHashes(
  fixed: readonly string[],
  stored: () => Promise<string[]>,
  onError: (error: unknown) => void,
): () => Promise<readonly string[]> {
  let cache: { at: number; hashes: readonly string[] } | undefined;
  return async () => {
    if (!cache || Date.now() - cache.at > 5_000) {
      try {
        cache = { at: Date.now(), hashes: [...fixed, ...(await stored())] };
      } catch (error) {
        onError(error);
        if (fixed.length === 0) throw error;
        return fixed;
      }
    }
    return cache.hashes;
  };
}
