// Deno entry point (Deno Deploy or `deno run`): the dbsync app over a libSQL server reached over
// HTTP. DBSYNC_URL and DBSYNC_AUTH_TOKEN name it; PORT and DBSYNC_HOST where to listen when local.
import { edgeHandler } from "./app.ts";
import { openRemoteLibsql } from "./libsql-remote.ts";
import { EdgeSettingsError } from "./settings.ts";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  exit(code: number): never;
  serve(
    options: { hostname?: string; port?: number; onListen?: (address: { hostname: string; port: number }) => void },
    handler: (request: Request) => Promise<Response>,
  ): unknown;
};

const env = Deno.env.toObject();
const port = Number(env.PORT?.trim() || 8000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`error: PORT must be a port number (got "${env.PORT}")`);
  Deno.exit(2);
}
const handler = edgeHandler({
  env,
  warmUp: true,
  open: async () => {
    if (!env.DBSYNC_URL) throw new EdgeSettingsError("DBSYNC_URL is not set: name the libSQL server, e.g. libsql://HOST");
    return openRemoteLibsql(env.DBSYNC_URL, env.DBSYNC_AUTH_TOKEN);
  },
});

Deno.serve(
  {
    hostname: env.DBSYNC_HOST ?? "127.0.0.1",
    port,
    onListen: ({ hostname, port }) => console.log(`dbsync serve on http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`),
  },
  (request) => handler(request),
);
