// The first step of every request: one whose URL cannot be built is refused as the client's error,
// and every answer is counted under its route and handed to the access log, with a client that hung
// up told apart from an answer it got.
import type { Context, MiddlewareHandler } from "hono";
import type { Metrics } from "./metrics.ts";

export interface AccessEntry {
  method: string;
  /** The route's pattern, "unmatched" for none: never the path or its query, which may hold a token. */
  route: string;
  status: number;
  ms: number;
  /** The client closed the connection before it had the answer. */
  aborted: boolean;
}

/**
 * Bun hands the app what the client sent when no URL can be made of it: HTTP/1.0 without a Host,
 * a Host such as "a b" or "[::1", a request target such as "*" or "a" (CONNECT, OPTIONS).
 */
export const BAD_TARGET = "the request's Host header and target do not make a valid URL (send a Host header and a path starting with /)";

/** Methods as written in a log line: anything else a client invents is not echoed. */
function methodName(method: string): string {
  return /^[A-Za-z]{1,16}$/.test(method) ? method.toUpperCase() : "OTHER";
}

/** Whether the client hung up: the request's signal is aborted by the runtime when it does. */
export function clientGone(c: Context): boolean {
  return c.req.raw.signal?.aborted === true;
}

export function accessMiddleware(options: {
  metrics: Metrics;
  /** Every fixed path the app serves, for answers given before routing (413 of the body limit). */
  routes: ReadonlySet<string>;
  onAccess?: (entry: AccessEntry) => void;
}): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    let path: string | undefined;
    try {
      path = new URL(c.req.url).pathname;
    } catch {
      c.res = c.json({ error: BAD_TARGET }, 400);
    }
    if (path !== undefined) await next();
    // The route's pattern, not the path (a path per request would be a metric per request).
    const route =
      path === undefined ? "unmatched" : c.req.routePath !== "/*" ? c.req.routePath : options.routes.has(path) ? path : "unmatched";
    const aborted = clientGone(c);
    if (aborted) options.metrics.clientAbort(route);
    else options.metrics.request(route, c.res.status);
    options.onAccess?.({ method: methodName(c.req.method), route, status: c.res.status, ms: performance.now() - started, aborted });
    return c.res;
  };
}

/** One access log line: what was asked, how it ended, how long it took. */
export function accessLine(entry: AccessEntry): string {
  const ms = entry.ms.toFixed(entry.ms < 10 ? 1 : 0);
  return entry.aborted
    ? `${entry.method} ${entry.route} aborted: the client closed the connection after ${ms} ms`
    : `${entry.method} ${entry.route} ${entry.status} ${ms} ms`;
}

/** The same as fields, for logs read by machines: the duration rounded to a tenth of a millisecond. */
export function accessFields(entry: AccessEntry): Record<string, string | number | boolean> {
  return { ...entry, ms: Math.round(entry.ms * 10) / 10 };
}
