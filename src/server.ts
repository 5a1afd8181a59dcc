// The dbsync server as a Hono app: the Talkdesk contact-synchronization bridge over the contacts the
// sync wrote, the phonecalls web service beside them, health checks, metrics and its OpenAPI document. Portable: web-standard APIs only; runtime entry points (Bun.serve
// in the CLI, edge runtimes) build the dependencies and call createApp.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { type MappingFile, resolveMapping } from "./core/talkdesk/contact-mapping.ts";
import type { ContactReader } from "./core/sql/contact-reader.ts";
import { TargetError } from "./core/sql/dialect.ts";
import { sameSecret } from "./core/common/secrets.ts";
import { type Checkpoint, type CheckpointKey, StateError } from "./core/state/state.ts";
import { ContactSyncRequestSchema, CredentialsSchema, contactSyncPage, encodeCheckpoint, TalkdeskRequestError } from "./core/talkdesk/talkdesk.ts";
import { type AccessEntry, accessMiddleware, clientGone } from "./server/access.ts";
import { Metrics } from "./server/metrics.ts";
import { OPENAPI } from "./server/openapi.ts";
import { type PhonecallDeps, phonecallRoutes } from "./server/phonecalls.ts";

export interface TalkdeskSettings {
  /** Without credentials every Talkdesk request is refused: the bridge never runs open. */
  credentials?: { username: string; password: string };
  mapping?: MappingFile;
  pageSize: number;
  settleMs: number;
}

export interface ServerDeps {
  contacts: ContactReader;
  talkdesk: TalkdeskSettings;
  phonecalls: PhonecallDeps;
  /** The sync's checkpoints, for the metrics of last sync time and lag. */
  checkpoints: () => Promise<(CheckpointKey & Checkpoint)[]>;
  /** Resolves when the database answers; rejects with a reason otherwise. */
  ready: () => Promise<void>;
  /** Where unexpected failures are reported (never to the client). */
  onError?: (error: unknown) => void;
  /** Every answer (and every request whose client hung up), for the access log. */
  onAccess?: (entry: AccessEntry) => void;
  now?: () => Date;
}

/** Every route's path (all are fixed paths), for the metrics of answers given before routing. */
const ROUTES = new Set(Object.keys(OPENAPI.paths));

/** Requests beyond this are refused with 413 before they are read. */
export const BODY_LIMIT = 64 * 1024;

/** The sync has not written this database (or `--url` names another one): nothing to serve yet. */
export const NO_CONTACTS_TABLE = "no contacts yet: the contacts table does not exist in this database (has the sync written it?)";

export function createApp(deps: ServerDeps): Hono {
  const app = new Hono();
  const metrics = new Metrics();
  const contactsMissing = async () => (await deps.contacts.columns()).length === 0;

  app.use("*", accessMiddleware({ metrics, routes: ROUTES, onAccess: deps.onAccess }));

  app.use(
    "*",
    bodyLimit({ maxSize: BODY_LIMIT, onError: (c) => c.json({ error: `the request body is larger than ${BODY_LIMIT} bytes` }, 413) }),
  );

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/openapi.json", (c) => c.json(OPENAPI));
  app.get("/metrics", async (c) => {
    let checkpoints: (CheckpointKey & Checkpoint)[] = [];
    try {
      checkpoints = await deps.checkpoints();
    } catch (error) {
      deps.onError?.(error);
    }
    return c.text(metrics.render(checkpoints), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  app.get("/readyz", async (c) => {
    try {
      await deps.ready();
      if (await contactsMissing()) return c.json({ ok: false, error: NO_CONTACTS_TABLE }, 503);
      return c.json({ ok: true });
    } catch (error) {
      // The reason (with the database's address) goes to the log, not to whoever asks.
      deps.onError?.(error);
      return c.json({ ok: false, error: "the database or the state store does not answer" }, 503);
    }
  });

  /** The body as JSON, or a 400 answer. */
  async function jsonBody(request: Request): Promise<{ ok: true; value: unknown } | { ok: false }> {
    try {
      return { ok: true, value: JSON.parse(await request.text()) };
    } catch {
      return { ok: false };
    }
  }

  /** Whether `auth` holds the configured username and password (compared in constant time). */
  function authorised(auth: unknown): boolean {
    const expected = deps.talkdesk.credentials;
    const given = v.safeParse(CredentialsSchema, auth);
    if (!expected || !given.success) return false;
    // Both compared always, so the time does not tell which one was wrong.
    const user = sameSecret(given.output.username, expected.username);
    const password = sameSecret(given.output.password, expected.password);
    return user && password;
  }

  app.post("/talkdesk/validate", async (c) => {
    const body = await jsonBody(c.req.raw);
    if (!body.ok) return c.json({ error: "the body must be JSON" }, 400);
    const auth = (body.value as { auth?: unknown } | null)?.auth;
    return authorised(auth) ? c.json({ valid: true }) : c.json({ valid: false, error: "invalid credentials" }, 401);
  });

  app.post("/talkdesk/contact_sync", async (c) => {
    const body = await jsonBody(c.req.raw);
    if (!body.ok) return c.json({ error: "the body must be JSON" }, 400);
    const parsed = v.safeParse(ContactSyncRequestSchema, body.value);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const path = issue?.path?.map((p) => String(p.key)).join(".");
      return c.json({ error: `${path ? `${path}: ` : ""}${issue?.message ?? "invalid request"}` }, 400);
    }
    if (!authorised(parsed.output.auth)) return c.json({ error: "invalid credentials" }, 401);
    try {
      // A checkpoint from a table that is not there would later skip every contact written before it.
      if (await contactsMissing()) return c.json({ error: NO_CONTACTS_TABLE }, 503, { "retry-after": "60" });
      const page = await contactSyncPage(deps.contacts, parsed.output, {
        mapping: resolveMapping(await deps.contacts.columns(), deps.talkdesk.mapping),
        pageSize: deps.talkdesk.pageSize,
        settleMs: deps.talkdesk.settleMs,
        now: deps.now,
      });
      // Nothing at all to start from (the sync has made the table but not yet written a contact):
      // the checkpoint is the very start, not now. The contacts the sync writes next carry their own
      // change times, older than now, and a checkpoint of now would pass over every one of them.
      const { synchronization_checkpoint: given, offset } = parsed.output.meta;
      if (page.contacts.length === 0 && !given && !offset) page.synchronization_checkpoint = encodeCheckpoint({ changed: "", id: "" });
      metrics.talkdeskPages++;
      return c.json(page);
    } catch (error) {
      if (error instanceof TalkdeskRequestError) return c.json({ error: error.message }, 400);
      if (error instanceof TargetError) {
        deps.onError?.(error);
        return c.json({ error: "the contacts database is not available; try again later" }, 503);
      }
      throw error;
    }
  });

  phonecallRoutes(app, deps.phonecalls, metrics);

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
