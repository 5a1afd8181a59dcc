// The dbsync server as a Hono app composed of sub-apps: health, readiness and metrics; the Talkdesk
// contact-synchronization bridge over the contacts the sync wrote; the phonecalls web service beside
// them; and the OpenAPI document read off their routes. Portable: web-standard APIs only; runtime
// entry points (Bun.serve in the CLI, edge runtimes) build the dependencies and call createApp.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { TargetError } from "./core/sql/dialect.ts";
import { StateError } from "./core/state/state.ts";
import { type AccessEntry, accessMiddleware, clientGone } from "./server/access.ts";
import { type HealthDeps, healthRoutes } from "./server/health.ts";
import { Metrics } from "./server/metrics.ts";
import { answer, describeRoute, errorAnswer, openApiDocument } from "./server/openapi.ts";
import { PHONECALLS_BASE, type PhonecallDeps, phonecallRoutes } from "./server/phonecalls.ts";
import { type TalkdeskDeps, talkdeskRoutes } from "./server/talkdesk.ts";

export interface ServerDeps extends TalkdeskDeps, HealthDeps {
  phonecalls: PhonecallDeps;
  /** Where unexpected failures are reported (never to the client). */
  onError?: (error: unknown) => void;
  /** Every answer (and every request whose client hung up), for the access log. */
  onAccess?: (entry: AccessEntry) => void;
}

/** Requests beyond this are refused with 413 before they are read. */
export const BODY_LIMIT = 64 * 1024;

/**
 * What a service route (Talkdesk, phonecalls) may answer besides its own answers: no such method, a
 * body too large, a database down. Health, metrics and this document read no body and no database.
 */
const SERVICE_ROUTE_ANSWERS = {
  404: errorAnswer("No such route or method"),
  413: errorAnswer(`The body is larger than ${BODY_LIMIT / 1024} KB`),
  503: errorAnswer("The database or the state store is not available"),
};
const SERVICE_BASES = ["/talkdesk/", `${PHONECALLS_BASE}/`];
const answersAround = (path: string) => (SERVICE_BASES.some((base) => path.startsWith(base)) ? SERVICE_ROUTE_ANSWERS : {});

export function createApp(deps: ServerDeps): Hono {
  const app = new Hono();
  const metrics = new Metrics();
  /** Every route's fixed path, for the metrics of answers given before routing (filled once all are mounted). */
  const routePaths = new Set<string>();

  app.use("*", accessMiddleware({ metrics, routes: routePaths, onAccess: deps.onAccess }));
  app.use(
    "*",
    bodyLimit({ maxSize: BODY_LIMIT, onError: (c) => c.json({ error: `the request body is larger than ${BODY_LIMIT} bytes` }, 413) }),
  );

  app.route("/", healthRoutes(deps, metrics));
  app.route("/talkdesk", talkdeskRoutes(deps, metrics));
  app.route(PHONECALLS_BASE, phonecallRoutes(deps.phonecalls, metrics));

  let document: object | undefined;
  app.get(
    "/openapi.json",
    describeRoute({ summary: "This document", answers: { 200: answer("OpenAPI 3.1", v.object({ openapi: v.string() })) } }),
    (c) => {
      document ??= openApiDocument(app, answersAround);
      return c.json(document);
    },
  );

  for (const route of app.routes) if (route.method !== "ALL") routePaths.add(route.path);

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((error, c) => {
    // A body cut off by a client that hung up is no failure of ours, and nobody gets the answer.
    if (clientGone(c)) return c.json({ error: "the client closed the connection" }, 400);
    deps.onError?.(error);
    if (error instanceof TargetError) return c.json({ error: "the database is not available; try again later" }, 503);
    if (error instanceof StateError) return c.json({ error: "the state store is not available; try again later" }, 503);
    return c.json({ error: "internal error; see the server's log" }, 500);
  });
  return app;
}
