// The phonecalls routes of NiMbox's web service ("Servicios Web - Llamadas"): create and delete, by
// GET with a query string or by POST with a form (or JSON). Answers are that service's JSON:
// `{"error": false, …}` or `{"error": true, "errors": {…}}`. An HTTP adapter over core/phonecalls.
import { type Context, Hono } from "hono";
import * as v from "valibot";
import { type CreateParameter, checkCreate, checkDelete, type DeleteParameter, type FieldErrors } from "../core/phonecalls/phonecalls.ts";
import { type PhonecallService, REFUSAL } from "../core/phonecalls/service.ts";
import { textFaults } from "../core/common/text-checks.ts";
import { tokenMatches } from "../core/phonecalls/tokens.ts";
import type { Metrics } from "./metrics.ts";
import { type Answer, answer, describeRoute, ErrorBody } from "./openapi.ts";

/** Where the routes are mounted: NiMbox's paths, which PBX scripts already call. */
export const PHONECALLS_BASE = "/direct/items/phonecalls";

export interface PhonecallDeps {
  service: PhonecallService;
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

// What the OpenAPI document says of the parameters: the checks themselves are core's (checkCreate,
// checkDelete), which take every parameter as text and say what is wrong with it. The descriptions
// must name exactly the parameters core reads (`satisfies`), so the two cannot drift apart.
const CREATE_PARAMETERS = {
  initiated: "Date and time of the call, ISO 8601 (UTC without a zone)",
  source: "Number the call came from",
  destination: "Number called; finds the contact",
  duration: "Duration in seconds",
  url: "Link to more about the call (http/https)",
} satisfies Record<CreateParameter, string>;
const DELETE_PARAMETERS = {
  from: "Day (YYYY-MM-DD), exclusive",
  to: "Day (YYYY-MM-DD), exclusive",
} satisfies Record<DeleteParameter, string>;
const OPTIONAL_PARAMETERS: readonly string[] = ["duration", "url"] satisfies CreateParameter[];

const text = (description: string) => v.pipe(v.string(), v.description(description));
/** The token and the given parameters, each as text with its description. */
const parameters = (described: Record<string, string>) =>
  v.object({
    token: text("Token of the web service"),
    ...Object.fromEntries(
      Object.entries(described).map(([name, description]) => [
        name,
        OPTIONAL_PARAMETERS.includes(name) ? v.optional(text(description)) : text(description),
      ]),
    ),
  });
const CreateParameters = parameters(CREATE_PARAMETERS);
const DeleteParameters = parameters(DELETE_PARAMETERS);
const Refusal = v.object({ error: v.literal(true), errors: v.record(v.string(), v.string()) });
const refusal = (description: string): Answer => answer(description, Refusal);
/** The same parameters in the query string, a form or a JSON object. */
const bodies = (parameters: v.GenericSchema) => ({ "application/x-www-form-urlencoded": parameters, "application/json": parameters });

const describeCreate = describeRoute({
  summary: "Creates a phonecall (parameters in the query string, a form or a JSON object)",
  query: CreateParameters,
  body: bodies(CreateParameters),
  answers: {
    200: answer(
      "The call, stored now or before",
      v.object({
        error: v.literal(false),
        contactId: v.string(),
        phonecallId: v.number(),
        created: v.pipe(v.boolean(), v.description("false when the same call (initiated, source, destination) existed")),
      }),
    ),
    400: refusal("Invalid parameters, one entry each"),
    401: refusal("Invalid token"),
    422: refusal("No contact has the destination number, or several have it"),
    503: answer(
      "The phone index is being built (errors.destination), or the database is not available (error)",
      v.union([Refusal, ErrorBody]),
    ),
  },
});

const describeDelete = describeRoute({
  summary: "Deletes the phonecalls of the days between from and to",
  query: DeleteParameters,
  body: bodies(DeleteParameters),
  answers: {
    200: answer("How many calls were deleted", v.object({ count: v.number(), error: v.literal(false) })),
    400: refusal("Invalid parameters"),
    401: refusal("Invalid token"),
  },
});

/**
 * The phonecall routes as an app of their own, with paths relative to PHONECALLS_BASE. Failures
 * (the database gone) are answered by the app they are mounted in.
 */
export function phonecallRoutes(deps: PhonecallDeps, metrics: Metrics): Hono {
  /**
   * The request's parameters, readable, of text a database stores as sent, with a valid token; else
   * the refusal. The token is checked before the rest: without a valid one a request learns nothing
   * about its other parameters.
   */
  async function admitted(c: Context): Promise<Params | Response> {
    const params = await readParams(c);
    if (!params) return refused(c, 400, { request: "the parameters cannot be read: send a query string, a form or a JSON object" });
    // Before the token: a token with such characters cannot be valid, and saying why helps its sender.
    const faults = textFaults(params);
    if (Object.keys(faults).length > 0) return refused(c, 400, faults);
    const authorised = params.token !== undefined && tokenMatches(params.token, await deps.tokenHashes());
    return authorised ? params : refused(c, 401, { token: "invalid token" });
  }

  const create = async (c: Context) => {
    const params = await admitted(c);
    if (params instanceof Response) return params;
    const checked = checkCreate(params);
    if (!checked.ok) return refused(c, 400, checked.errors);
    const outcome = await deps.service.create(checked.value);
    if (outcome.kind === "busy") {
      c.header("retry-after", "30");
      return c.json({ error: true, errors: { destination: outcome.reason } }, 503);
    }
    if (outcome.kind === "no-contact" || outcome.kind === "ambiguous") return refused(c, 422, { destination: REFUSAL[outcome.kind] });
    if (outcome.kind === "created") metrics.phonecallsCreated++;
    return c.json({ error: false, contactId: outcome.contactId, phonecallId: outcome.id, created: outcome.kind === "created" });
  };

  const remove = async (c: Context) => {
    const params = await admitted(c);
    if (params instanceof Response) return params;
    const checked = checkDelete(params);
    if (!checked.ok) return refused(c, 400, checked.errors);
    return c.json({ count: await deps.service.delete(checked.value.from, checked.value.to), error: false });
  };

  const routes = new Hono();
  routes.on(["GET", "POST"], "/create", describeCreate, create);
  routes.on(["GET", "POST"], "/delete", describeDelete, remove);
  return routes;
}
