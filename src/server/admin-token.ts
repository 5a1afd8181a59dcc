// The gate before everything an operator can see or change beyond health and metrics: the admin token
// as a Bearer header, compared in constant time (only its hash is kept). Without a configured token
// the gate refuses everything instead of opening: an unset variable must not publish the fleet.
import type { MiddlewareHandler } from "hono";
import { hashToken, tokenMatches } from "../core/phonecalls/tokens.ts";

export const NO_ADMIN_TOKEN = "no admin token is configured (set DBSYNC_ADMIN_TOKEN): this page is closed";
export const WRONG_ADMIN_TOKEN = "send the admin token as Authorization: Bearer <token>";

/** `token` as configured (undefined or "" when none is); it is hashed here and not kept. */
export function adminGate(token: string | undefined): MiddlewareHandler {
  const hashes = token ? [hashToken(token)] : [];
  return async (c, next) => {
    if (hashes.length === 0) return c.json({ error: NO_ADMIN_TOKEN }, 403);
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (presented === undefined || !tokenMatches(presented, hashes)) {
      c.header("WWW-Authenticate", 'Bearer realm="dbsync"');
      return c.json({ error: WRONG_ADMIN_TOKEN }, 401);
    }
    await next();
  };
}
