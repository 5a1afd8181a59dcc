// The server as `dbsync serve` builds it, plus a bare route returning a constant JSON, in one Bun
// process: the bare route is the yardstick of what the runtime and Hono alone can do here.
// Usage: bun scripts/bench/server-app.ts DATABASE_URL TOKEN
import { Hono } from "hono";
import { hashToken } from "../../src/core/phonecalls/tokens.ts";
import { openDialect } from "../../src/dialects/index.ts";
import { createApp } from "../../src/server.ts";
import { serverDeps } from "../../src/server/deps.ts";

const [url = "", token = ""] = process.argv.slice(2);
const dialect = await openDialect(url);
const { deps, phoneIndex } = serverDeps(
  dialect,
  { prefix: "", talkdesk: { credentials: { username: "bench", password: "bench" }, pageSize: 500, settleMs: 60_000 } },
  {
    tokenHashes: async () => [hashToken(token)],
    checkpoints: async () => [],
    onError: (error) => process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`),
  },
);
const app = new Hono();
app.get("/bare", (c) => c.json({ ok: true, service: "dbsync", version: 1 }));
app.route("/", createApp(deps));
phoneIndex.warmUp();
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
process.stdout.write(`bench server on http://127.0.0.1:${server.port}\n`);
process.on("SIGTERM", async () => {
  await server.stop(true);
  await dialect.close();
  process.exit(0);
});
