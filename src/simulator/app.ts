// The Dialfire REST API as dbsync2 1.15.0 calls it, served from a simulated campaign,
// with bearer-token checks and injectable faults. Web-standard only: any runtime can serve it.
import { type Context, Hono } from "hono";
import type { Campaign } from "./campaign.ts";
import { QueryError } from "./cursor.ts";
import { type Endpoint, type Faults, noFaults, RequestStats } from "./faults.ts";
import { Random } from "./random.ts";

export interface SimulatorAppOptions {
  /** The campaign's sync-client token, expected as `Authorization: Bearer <token>`. */
  token: string;
  /** Read on every request: change its rates while the app runs. */
  faults?: Faults;
  stats?: RequestStats;
  /** Seeds the fault draws; kept apart from the campaign's generator so faults never change the data. */
  faultSeed?: number;
}

export type SimulatorApp = Hono & { stats: RequestStats; faults: Faults };

const MAX_LIMIT = 1000;
const MAX_IDS_PER_FETCH = 100;

export function createSimulatorApp(campaign: Campaign, options: SimulatorAppOptions): SimulatorApp {
  const faults = options.faults ?? noFaults();
  const stats = options.stats ?? new RequestStats();
  const faultRandom = new Random(options.faultSeed ?? 0x5eed);
  const app = new Hono();

  /** Wraps a handler with the checks and faults every endpoint shares, and counts the outcome. */
  const endpoint =
    (name: Endpoint, handler: (c: Context) => Response | Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      if (!authorized(c, campaign.id, options.token)) {
        stats.record(name, "forbidden");
        return c.text("403 Forbidden", 403);
      }
      // Always four draws per request, so the fault sequence does not depend on the rates.
      const [slow, error, rateLimited, malformed] = [0, 0, 0, 0].map(() => faultRandom.next());
      if (slow < faults.slowRate) {
        stats.record(name, "slow");
        if (!(await delay(faults.slowMs, c.req.raw.signal))) {
          stats.record(name, "aborted");
          return new Response(null, { status: 499 }); // nobody reads it: the client is gone
        }
      }
      if (error < faults.errorRate) {
        stats.record(name, "serverError");
        return c.text("500 Internal Server Error (simulated)", 500);
      }
      if (rateLimited < faults.rateLimitRate) {
        stats.record(name, "rateLimited");
        c.header("Retry-After", String(faults.retryAfterSeconds));
        return c.text("429 Too Many Requests (simulated)", 429);
      }
      let response: Response;
      try {
        response = await handler(c);
      } catch (err) {
        if (!(err instanceof QueryError)) {
          stats.record(name, "serverError"); // a bug in the simulator: let Hono log it and answer 500
          throw err;
        }
        stats.record(name, "badRequest");
        return c.json({ error: err.message }, 400);
      }
      if (response.status === 200 && malformed < faults.malformedRate) {
        stats.record(name, "malformed");
        return truncated(response);
      }
      stats.record(name, response.status === 200 ? "ok" : response.status === 400 ? "badRequest" : "serverError");
      return response;
    };

  const fetchContacts = async (c: Context): Promise<Response> => {
    const ids = parseIdList(await c.req.text());
    const includeMd5 = c.req.query("include_md5") === "true";
    const contacts = campaign.contactsById(ids);
    return c.json(includeMd5 ? contacts : contacts.map(({ $md5: _, ...rest }) => rest));
  };

  const base = "/api/campaigns/:cid";
  app.get(
    `${base}/fields/list`,
    endpoint("fields", (c) => c.json(campaign.fields())),
  );
  app.get(
    `${base}/contacts/list`,
    endpoint("contactsList", (c) =>
      c.json(
        envelope(campaign.listContacts({ changedSince: c.req.query("changedSince"), cursor: c.req.query("cursor"), limit: limitOf(c) })),
      ),
    ),
  );
  app.post(`${base}/contacts/`, endpoint("contactsFetch", fetchContacts));
  app.get(
    `${base}/contacts/transactions/`,
    endpoint("transactions", (c) =>
      c.json(
        envelope(
          campaign.transactionEvents({
            from: c.req.query("from"),
            to: c.req.query("to"),
            type: c.req.query("type"),
            hi: c.req.query("hi") === "true",
            tasks: c.req.query("tasks"),
            cursor: c.req.query("cursor"),
            limit: limitOf(c),
          }),
        ),
      ),
    ),
  );
  app.get(
    `${base}/inbound/calls/`,
    endpoint("inboundCalls", (c) =>
      c.json(
        envelope(
          campaign.inboundCallPage({ from: c.req.query("from"), to: c.req.query("to"), cursor: c.req.query("cursor"), limit: limitOf(c) }),
        ),
      ),
    ),
  );
  // Older clients (1.5.4 and dbsync v1) read these.
  app.get(
    base,
    endpoint("campaign", (c) =>
      c.json({ id: campaign.id, title: `Simulated campaign ${campaign.id}`, form: { elements: campaign.fields() } }),
    ),
  );
  app.post(`${base}/contacts/flat_view`, endpoint("flatView", fetchContacts));

  app.notFound((c) => {
    stats.record("unknown", "notFound");
    return c.json({ error: "not found" }, 404);
  });

  return Object.assign(app, { stats, faults });
}

function authorized(c: Context, campaignId: string, token: string): boolean {
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match !== null && match[1] === token && c.req.param("cid") === campaignId;
}

function envelope<T>(page: { results: T[]; cursor: string }) {
  return { count: page.results.length, results: page.results, cursor: page.cursor };
}

/** `limit` defaults to, and is capped at, 1000 (what the client always sends). */
function limitOf(c: Context): number {
  const text = c.req.query("limit");
  if (text === undefined || text === "") return MAX_LIMIT;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new QueryError(`limit: not a positive integer: ${JSON.stringify(text)}`);
  return Math.min(Number(text), MAX_LIMIT);
}

function parseIdList(body: string): string[] {
  let ids: unknown;
  try {
    ids = JSON.parse(body);
  } catch {
    throw new QueryError("body must be a JSON array of contact ids");
  }
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) throw new QueryError("body must be a JSON array of contact ids");
  if (ids.length > MAX_IDS_PER_FETCH) throw new QueryError(`at most ${MAX_IDS_PER_FETCH} ids per request, got ${ids.length}`);
  return ids;
}

/** Half of the real body: a 200 whose JSON cannot be parsed (an unbalanced prefix of an object or array). */
async function truncated(response: Response): Promise<Response> {
  const text = await response.text();
  return new Response(text.slice(0, Math.floor(text.length / 2)), {
    status: 200,
    headers: { "Content-Type": response.headers.get("Content-Type") ?? "application/json" },
  });
}

/** Resolves true after `ms`, or false as soon as the request is aborted. */
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
