// The dbsync app on an edge runtime: one per isolate, made at the first request from the
// environment's settings and the database the entry point opens. Until both work, every request is
// answered with the reason (and the next request tries again), never with a crash.
import type { Dialect } from "../core/sql/dialect.ts";
import { maskSecretShapes } from "../core/common/redact.ts";
import { createApp } from "../server.ts";
import { serverDeps } from "../server/deps.ts";
import { type EdgeEnv, EdgeSettingsError, edgeSettings } from "./settings.ts";

/** How long the app's start (settings, opening the database) may take before it is tried anew. */
const START_PATIENCE_MS = 30_000;

export interface EdgeOptions {
  env: EdgeEnv;
  open: () => Promise<Dialect>;
  /**
   * Build the phone index in the background from the start (a long-running process such as Deno);
   * on Workers, work after the answer may be cut off, so the index is brought up to date by lookups.
   */
  warmUp?: boolean;
  onError?: (error: unknown) => void;
}

/**
 * Answers a request. `waitUntil` (Workers' `ctx.waitUntil`) is given the work the request started
 * that outlives its answer (a phone-index refresh), so that the runtime does not cut it off.
 */
export type FetchHandler = (request: Request, waitUntil?: (work: Promise<unknown>) => void) => Promise<Response>;

export function edgeHandler(options: EdgeOptions): FetchHandler {
  // The runtime's log is a log like any other: no token, password or query-string value in clear.
  const onError =
    options.onError ??
    ((error: unknown) => console.error(`error: ${maskSecretShapes(error instanceof Error ? error.message : String(error))}`));
  let ready: FetchHandler | undefined;
  let starting: Promise<FetchHandler> | undefined;
  let startedAt = 0;
  const start = async (): Promise<FetchHandler> => {
    const settings = edgeSettings(options.env);
    const dialect = await options.open();
    const { deps, phoneIndex } = serverDeps(dialect, settings, {
      tokenHashes: async () => settings.tokenHashes,
      checkpoints: async () => [],
      onError,
    });
    if (options.warmUp) phoneIndex.warmUp();
    const hono = createApp(deps);
    return async (request, waitUntil) => {
      const response = await hono.fetch(request);
      waitUntil?.(phoneIndex.settled());
      return response;
    };
  };
  return async (request, waitUntil) => {
    if (!ready) {
      // A start that was cut off (its request's I/O cancelled) would never settle: try again after a while.
      if (starting && Date.now() - startedAt > START_PATIENCE_MS) starting = undefined;
      if (!starting) {
        startedAt = Date.now();
        const attempt: Promise<FetchHandler> = start().then(
          (handle) => (ready = handle),
          (error: unknown) => {
            if (starting === attempt) starting = undefined;
            throw error;
          },
        );
        starting = attempt;
      }
      try {
        await starting;
      } catch (error) {
        onError(error);
        // The reason goes to the log only: it names the database, which is no business of a client.
        if (error instanceof EdgeSettingsError)
          return Response.json({ error: `dbsync is misconfigured: ${error.message}` }, { status: 500 });
        return Response.json({ error: "the database cannot be reached" }, { status: 503, headers: { "retry-after": "5" } });
      }
    }
    return (ready as FetchHandler)(request, waitUntil);
  };
}
