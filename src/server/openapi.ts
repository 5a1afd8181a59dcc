// The OpenAPI 3.1 document served at /openapi.json, read off the app's own routes: each route
// carries its description as a middleware (describeRoute), and the JSON body it accepts is the
// valibot schema its validator (jsonBody) checks requests with. So the document cannot drift from
// the routes: a route without a description is missing from it (a test walks the routes and the
// document), and a schema changed for validation is changed in the document too.
import { toJsonSchema } from "@valibot/to-json-schema";
import type { Env, Hono, MiddlewareHandler } from "hono";
import * as v from "valibot";

type Schema = v.GenericSchema;
type JsonObject = Record<string, unknown>;

/** One answer a route may give. */
export interface Answer {
  description: string;
  /** The schema of its JSON body. */
  schema?: Schema;
  /** Its media type when the body is not JSON. */
  media?: string;
}

export interface RouteDescription {
  summary: string;
  /** Parameters of the query string: the entries of an object schema, each explained by v.description. */
  query?: v.ObjectSchema<v.ObjectEntries, v.ErrorMessage<v.ObjectIssue> | undefined>;
  /** Bodies the route reads itself, by media type (a jsonBody validator describes its own). */
  body?: Record<string, Schema>;
  answers: Record<number, Answer>;
}

/** The usual error body: `{"error": "…"}` in our words. */
export const ErrorBody = v.object({ error: v.string() });

/** An answer with a JSON body. */
export const answer = (description: string, schema: Schema): Answer => ({ description, schema });
/** An answer with the usual error body. */
export const errorAnswer = (description: string): Answer => answer(description, ErrorBody);

const INFO = {
  title: "dbsync server",
  version: "1",
  description: "Talkdesk contact-sync bridge and phonecalls web service over the contacts dbsync writes.",
};

const descriptions = new WeakMap<object, RouteDescription>();
const jsonBodies = new WeakMap<object, Schema>();

/** A middleware that does nothing but carry the route's description into the document. */
export function describeRoute(description: RouteDescription): MiddlewareHandler {
  const middleware: MiddlewareHandler = (_c, next) => next();
  descriptions.set(middleware, description);
  return middleware;
}

/** The first problem valibot found, with where it is: "meta.offset: must be …". */
export function issueText(issues: readonly v.BaseIssue<unknown>[], otherwise = "invalid request"): string {
  const issue = issues[0];
  const path = issue?.path?.map((p) => String(p.key)).join(".");
  return `${path ? `${path}: ` : ""}${issue?.message ?? otherwise}`;
}

type Validated<S extends Schema> = { in: { json: v.InferInput<S> }; out: { json: v.InferOutput<S> } };

/**
 * The request body read as JSON and checked with `schema`, for `c.req.valid("json")`; a 400 in our
 * words otherwise. The content type is not looked at: a body that parses as JSON is JSON.
 */
export function jsonBody<S extends Schema>(schema: S): MiddlewareHandler<Env, string, Validated<S>> {
  const middleware: MiddlewareHandler<Env, string, Validated<S>> = async (c, next) => {
    let value: unknown;
    try {
      value = JSON.parse(await c.req.text());
    } catch {
      return c.json({ error: "the body must be JSON" }, 400);
    }
    const parsed = v.safeParse(schema, value);
    if (!parsed.success) return c.json({ error: issueText(parsed.issues) }, 400);
    c.req.addValidatedData("json", parsed.output as object);
    await next();
  };
  jsonBodies.set(middleware, schema);
  return middleware;
}

/** JSON Schema (the dialect of OpenAPI 3.1); checks valibot cannot express (v.check) are left out. */
function jsonSchema(schema: Schema, typeMode: "input" | "output"): JsonObject {
  const { $schema: _, ...converted } = toJsonSchema(schema, { target: "draft-2020-12", typeMode, errorMode: "ignore" }) as JsonObject;
  return converted;
}

function queryParameters(query: NonNullable<RouteDescription["query"]>): JsonObject[] {
  const converted = jsonSchema(query, "input") as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(converted.properties ?? {}).map(([name, { description, ...schema }]) => ({
    name,
    in: "query",
    required: converted.required?.includes(name) ?? false,
    ...(description === undefined ? {} : { description }),
    schema,
  }));
}

function response(answer: Answer): JsonObject {
  const { description, schema, media } = answer;
  if (schema) return { description, content: { "application/json": { schema: jsonSchema(schema, "output") } } };
  return media ? { description, content: { [media]: {} } } : { description };
}

function operation(method: string, description: RouteDescription, json: Schema | undefined): JsonObject {
  const result: JsonObject = { summary: description.summary };
  if (description.query) result.parameters = queryParameters(description.query);
  const bodies = { ...(method === "GET" ? {} : description.body), ...(json ? { "application/json": json } : {}) };
  if (Object.keys(bodies).length > 0) {
    const content = Object.fromEntries(Object.entries(bodies).map(([media, schema]) => [media, { schema: jsonSchema(schema, "input") }]));
    result.requestBody = { required: json !== undefined, content };
  }
  result.responses = Object.fromEntries(Object.entries(description.answers).map(([status, answer]) => [status, response(answer)]));
  return result;
}

/**
 * The document of every described route of `app` (sub-apps mounted with app.route included);
 * `around(path)` are the answers the app gives before or around that route's own (404, 413, 503).
 */
export function openApiDocument(app: Hono, around: (path: string) => Record<number, Answer> = () => ({})): JsonObject {
  const found = new Map<string, { path: string; method: string; description?: RouteDescription; json?: Schema }>();
  for (const route of app.routes) {
    const description = descriptions.get(route.handler);
    const json = jsonBodies.get(route.handler);
    if (!description && !json) continue;
    const key = `${route.method} ${route.path}`;
    const entry = found.get(key) ?? { path: route.path, method: route.method };
    found.set(key, { ...entry, description: description ?? entry.description, json: json ?? entry.json });
  }
  const paths: Record<string, JsonObject> = {};
  for (const { path, method, description, json } of found.values()) {
    // A validator without a description is a route half described: the test of the document finds it missing.
    if (!description) continue;
    const answers = { ...around(path), ...description.answers };
    paths[path] = { ...paths[path], [method.toLowerCase()]: operation(method, { ...description, answers }, json) };
  }
  return { openapi: "3.1.0", info: INFO, paths };
}
