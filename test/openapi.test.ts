// The OpenAPI document is read off the routes, so it cannot drift from them: what a route's
// validator checks is what the document says it accepts, a sub-app's routes appear under the path
// they are mounted at, and a route registered without a description is missing from the document
// (which the test of the real app's document catches). Tried here on small apps made for it.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import * as v from "valibot";
import { answer, describeRoute, errorAnswer, issueText, jsonBody, openApiDocument } from "../src/server/openapi.ts";
import type { OpenApiDocumentShape } from "./helpers/openapi-document.ts";

const Greeting = v.object({
  name: v.pipe(v.string("must be text"), v.minLength(1, "must not be empty"), v.description("Who is greeted")),
  times: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

function greetings(): Hono {
  const sub = new Hono();
  sub.post(
    "/hello",
    describeRoute({
      summary: "Greets",
      answers: { 200: answer("The greeting", v.object({ text: v.string() })), 400: errorAnswer("Bad") },
    }),
    jsonBody(Greeting),
    (c) => c.json({ text: `hello ${c.req.valid("json").name}`.repeat(c.req.valid("json").times ?? 1) }),
  );
  sub.get(
    "/search",
    describeRoute({
      summary: "Searches",
      query: v.object({ q: v.pipe(v.string(), v.description("What to look for")), limit: v.optional(v.string()) }),
      body: { "application/x-www-form-urlencoded": v.object({ q: v.string() }) },
      answers: { 200: { description: "Found", media: "text/plain" } },
    }),
    (c) => c.text("found"),
  );
  sub.get("/undescribed", (c) => c.text("nobody told"));
  const app = new Hono();
  app.route("/greetings", sub);
  return app;
}

const doc = openApiDocument(greetings(), () => ({ 404: errorAnswer("No such route") })) as unknown as OpenApiDocumentShape;

describe("the document made from the routes", () => {
  test("a mounted sub-app's routes appear under their full path; a route without a description does not", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(["/greetings/hello", "/greetings/search"]);
    expect(Object.keys(doc.paths["/greetings/hello"] ?? {})).toEqual(["post"]);
  });

  test("the request body is the validator's schema as JSON Schema, its descriptions included", () => {
    const body = doc.paths["/greetings/hello"]?.post.requestBody;
    expect(body.required).toBe(true);
    const schema = body.content["application/json"].schema!;
    expect(schema.$schema).toBeUndefined();
    expect(schema.required).toEqual(["name"]);
    expect(schema.properties.name).toEqual({ type: "string", minLength: 1, description: "Who is greeted" });
    expect(schema.properties.times).toEqual({ type: "integer", minimum: 1 });
  });

  test("query parameters come from an object schema; a GET carries no request body", () => {
    const operation = doc.paths["/greetings/search"]?.get;
    expect(operation.parameters).toEqual([
      { name: "q", in: "query", required: true, description: "What to look for", schema: { type: "string" } },
      { name: "limit", in: "query", required: false, schema: { type: "string" } },
    ]);
    expect(operation.requestBody).toBeUndefined();
  });

  test("answers: each route's own, and those of every route; a body that is not JSON by its media type", () => {
    const hello = doc.paths["/greetings/hello"]?.post.responses;
    expect(Object.keys(hello).sort()).toEqual(["200", "400", "404"]);
    expect(hello["404"].description).toBe("No such route");
    const greeting = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
    expect(hello["200"].content!["application/json"].schema).toEqual(greeting);
    expect(doc.paths["/greetings/search"]?.get.responses["200"]).toEqual({ description: "Found", content: { "text/plain": {} } });
  });
});

describe("validation with the same schema", () => {
  const app = greetings();
  const post = (body: string) => app.request("/greetings/hello", { method: "POST", body });

  test("a valid body reaches the handler, parsed", async () => {
    const answer = await post(JSON.stringify({ name: "Ann", times: 2 }));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ text: "hello Annhello Ann" });
  });

  test("a body that is not JSON, or not what the schema says, is a 400 naming the field in our words", async () => {
    const notJson = await post("{");
    expect({ status: notJson.status, body: await notJson.json() }).toEqual({ status: 400, body: { error: "the body must be JSON" } });
    const empty = await post(JSON.stringify({ name: "" }));
    expect({ status: empty.status, body: await empty.json() }).toEqual({ status: 400, body: { error: "name: must not be empty" } });
    const wrongType = await post(JSON.stringify({ name: 5 }));
    expect(await wrongType.json()).toEqual({ error: "name: must be text" });
  });

  test("issueText: the first issue with its path, or the message alone at the top", () => {
    const nested = v.safeParse(v.object({ meta: v.object({ offset: v.string("must be text") }) }), { meta: { offset: 1 } });
    expect(issueText(nested.issues ?? [])).toBe("meta.offset: must be text");
    const top = v.safeParse(v.object({}, "must be an object"), 1);
    expect(issueText(top.issues ?? [])).toBe("must be an object");
  });
});
