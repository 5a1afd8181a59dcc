// Cloudflare Workers entry point: the dbsync app over the D1 binding `DB`, or over a libSQL server
// (DBSYNC_URL, with DBSYNC_AUTH_TOKEN as a secret). Settings are the Worker's vars and secrets.
import { type D1Database, d1Dialect } from "../dialects/sqlite/d1.ts";
import { edgeHandler, type FetchHandler } from "./app.ts";
import { openRemoteLibsql } from "./libsql-remote.ts";
import { type EdgeEnv, EdgeSettingsError } from "./settings.ts";

interface WorkerEnv extends EdgeEnv {
  DB?: D1Database;
  DBSYNC_URL?: string;
  DBSYNC_AUTH_TOKEN?: string;
}

let handler: FetchHandler | undefined;

export default {
  fetch(request: Request, env: WorkerEnv, ctx?: { waitUntil(work: Promise<unknown>): void }): Promise<Response> {
    handler ??= edgeHandler({
      env,
      open: async () => {
        if (env.DB) return d1Dialect(env.DB);
        if (env.DBSYNC_URL) return openRemoteLibsql(env.DBSYNC_URL, env.DBSYNC_AUTH_TOKEN);
        throw new EdgeSettingsError("no database: bind a D1 database as DB, or set DBSYNC_URL to a libSQL server");
      },
    });
    const waitUntil = ctx ? (work: Promise<unknown>) => ctx.waitUntil(work) : undefined;
    const answer = handler(request, waitUntil);
    // A client that hangs up has workerd cancel the request's I/O, which would leave what it started
    // for every later request (the app's start, a table's creation) unsettled for good: the work is
    // finished anyway.
    waitUntil?.(answer.catch(() => undefined));
    return answer;
  },
};
