// The phonecalls routes (seed 004): create and delete, by GET with a query string or by POST with a
// form (or JSON). Answers are the seed's JSON: `{"error": false, …}` or `{"error": true, "errors": {…}}`.
import type { Context, Hono } from "hono";
import { type PhoneIndex, PhoneIndexBusyError, type PhoneMatch } from "../core/phonecalls/phone-index.ts";
import { checkCreate, checkDelete, type FieldErrors, type PhonecallStore } from "../core/phonecalls/phonecalls.ts";
import { textFaults } from "../core/common/text-checks.ts";
import { tokenMatches } from "../core/phonecalls/tokens.ts";
import type { Metrics } from "./metrics.ts";

export interface PhonecallDeps {
  store: PhonecallStore;
  contacts: PhoneIndex;
  /** SHA-256 hashes of the tokens allowed now. */
  tokenHashes: () => Promise<readonly string[]>;
}

/** Parameters this service knows; anything else in a request is ignored. */
const KNOWN = ["token", "initiated", "source", "destination", "duration", "url", "from", "to"];
const MAX_PARAM = 4096;

type Params = Record<string, string | undefined>;

/** Query string, and for POST the form or JSON body on top; undefined when the body is unreadable. */
async function readParams(c: Context): Promise<Params | undefined> {
  const params: Params = {};
  const take = (key: string, value: unknown) => {
    if (!KNOWN.includes(key)) return true;
    // Given twice (in the query string and the body) is refused rather than one of them picked.
    if (params[key] !== undefined) return false;
    if (typeof value === "number") value = String(value);
    if (typeof value !== "string" || value.length > MAX_PARAM) return false;
    params[key] = value;
    return true;
  };
  // A parameter given twice is refused rather than one of its values picked.
  for (const [key, values] of Object.entries(c.req.queries())) {
    if ((KNOWN.includes(key) && values.length !== 1) || !take(key, values[0])) return undefined;
  }
  if (c.req.method !== "POST") return params;
  const type = c.req.header("content-type") ?? "";
  try {
    if (type.includes("application/json")) {
      const body: unknown = await c.req.json();
      if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
      for (const [key, value] of Object.entries(body)) if (!take(key, value)) return undefined;
    } else if (type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")) {
      for (const [key, value] of Object.entries(await c.req.parseBody({ all: true }))) if (!take(key, value)) return undefined;
    }
  } catch {
    return undefined;
  }
  return params;
}

const refused = (c: Context, status: 400 | 401 | 422, errors: FieldErrors) => c.json({ error: true, errors }, status);

export function phonecallRoutes(app: Hono, deps: PhonecallDeps, metrics: Metrics): void {
  /** The token first: a request without a valid one learns nothing about its other parameters. */
  async function authorised(params: Params): Promise<boolean> {
    return params.token !== undefined && tokenMatches(params.token, await deps.tokenHashes());
  }

  const create = async (c: Context) => {
    const params = await readParams(c);
    if (!params) return refused(c, 400, { request: "the parameters cannot be read: send a query string, a form or a JSON object" });
    // Before the token: a token with such characters cannot be valid, and saying why helps its sender.
    const faults = textFaults(params);
    if (Object.keys(faults).length > 0) return refused(c, 400, faults);
    if (!(await authorised(params))) return refused(c, 401, { token: "invalid token" });
    const checked = checkCreate(params);
    if (!checked.ok) return refused(c, 400, checked.errors);
    const call = checked.value;
    const existing = await deps.store.existing(call);
    if (existing.contactId !== undefined) {
      return c.json({ error: false, contactId: existing.contactId, phonecallId: existing.id, created: false });
    }
    let match: PhoneMatch;
    try {
      match = await deps.contacts.find(call.destination);
    } catch (error) {
      if (!(error instanceof PhoneIndexBusyError)) throw error;
      c.header("retry-after", "30");
      return c.json({ error: true, errors: { destination: error.message } }, 503);
    }
    if (!match.contactId) {
      const ambiguous = "several contacts have this number; send it in full, with its area code";
      return refused(c, 422, { destination: match.ambiguous ? ambiguous : "no contact has this destination number" });
    }
    const stored = await deps.store.create(call, match.contactId);
    if (stored.created) metrics.phonecallsCreated++;
    return c.json({ error: false, contactId: stored.contactId, phonecallId: stored.id, created: stored.created });
  };

  const remove = async (c: Context) => {
    const params = await readParams(c);
    if (!params) return refused(c, 400, { request: "the parameters cannot be read: send a query string, a form or a JSON object" });
    // Before the token: a token with such characters cannot be valid, and saying why helps its sender.
    const faults = textFaults(params);
    if (Object.keys(faults).length > 0) return refused(c, 400, faults);
    if (!(await authorised(params))) return refused(c, 401, { token: "invalid token" });
    const checked = checkDelete(params);
    if (!checked.ok) return refused(c, 400, checked.errors);
    return c.json({ count: await deps.store.delete(checked.value.from, checked.value.to), error: false });
  };

  app.on(["GET", "POST"], "/direct/items/phonecalls/create", create);
  app.on(["GET", "POST"], "/direct/items/phonecalls/delete", remove);
}
