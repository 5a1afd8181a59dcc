// The server's routes described as OpenAPI 3.1, served at /openapi.json. A test checks that every
// route the app answers is described here.
const error = { type: "object", properties: { error: { type: "string" } }, required: ["error"] };
const phonecallError = {
  type: "object",
  properties: { error: { const: true }, errors: { type: "object", additionalProperties: { type: "string" } } },
  required: ["error", "errors"],
};
/** A response: OpenAPI requires a description on each. */
const json = (description: string, schema: unknown) => ({ description, content: { "application/json": { schema } } });
const text = (name: string, description: string, required = false) => ({ name, in: "query", required, description, schema: { type: "string" } });

const createParameters = [
  text("token", "Token of the web service", true),
  text("initiated", "Date and time of the call, ISO 8601 (UTC without a zone)", true),
  text("source", "Number the call came from", true),
  text("destination", "Number called; finds the contact", true),
  text("duration", "Duration in seconds"),
  text("url", "Link to more about the call (http/https)"),
];
const deleteParameters = [
  text("token", "Token of the web service", true),
  text("from", "Day (YYYY-MM-DD), exclusive", true),
  text("to", "Day (YYYY-MM-DD), exclusive", true),
];
const formOf = (parameters: { name: string; description: string }[]) => ({
  content: {
    "application/x-www-form-urlencoded": {
      schema: { type: "object", properties: Object.fromEntries(parameters.map((p) => [p.name, { type: "string", description: p.description }])) },
    },
  },
});

const common = {
  "404": json("No such route or method", error),
  "413": json("The body is larger than 64 KB", error),
  "503": json("The database is not available", error),
};

const createResponses = {
  ...common,
  "200": json("The call, stored now or before", {
    type: "object",
    properties: {
      error: { const: false },
      contactId: { type: "string" },
      phonecallId: { type: "integer" },
      created: { type: "boolean", description: "false when the same call (initiated, source, destination) existed" },
    },
  }),
  "400": json("Invalid parameters, one entry each", phonecallError),
  "401": json("Invalid token", phonecallError),
  "422": json("No contact has the destination number", phonecallError),
};
const deleteResponses = {
  ...common,
  "200": json("How many calls were deleted", { type: "object", properties: { count: { type: "integer" }, error: { const: false } } }),
  "400": json("Invalid parameters", phonecallError),
  "401": json("Invalid token", phonecallError),
};

const talkdeskRequest = {
  type: "object",
  required: ["auth"],
  properties: {
    auth: { type: "object", properties: { username: { type: "string" }, password: { type: "string" } } },
    meta: {
      type: "object",
      properties: { synchronization_checkpoint: { type: "string" }, offset: { type: "string" }, context: {} },
    },
  },
};

export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "dbsync server", version: "1", description: "Talkdesk contact-sync bridge and phonecalls web service over the contacts dbsync writes." },
  paths: {
    "/healthz": { get: { summary: "The process is up", responses: { "200": json("Up", { type: "object" }) } } },
    "/readyz": {
      get: { summary: "The database answers", responses: { "200": json("Ready", { type: "object" }), "503": json("The database does not answer", error) } },
    },
    "/metrics": {
      get: { summary: "Prometheus metrics", responses: { "200": { description: "Prometheus text format", content: { "text/plain": {} } } } },
    },
    "/openapi.json": { get: { summary: "This document", responses: { "200": json("OpenAPI 3.1", { type: "object" }) } } },
    "/talkdesk/contact_sync": {
      post: {
        summary: "Talkdesk contact synchronization: initial, incremental, next page",
        requestBody: { required: true, content: { "application/json": { schema: talkdeskRequest } } },
        responses: {
          ...common,
          "200": json("A page of contacts, ascending by the checkpoint", {
            type: "object",
            required: ["contacts", "synchronization_checkpoint"],
            properties: { contacts: { type: "array" }, synchronization_checkpoint: { type: "string" }, next_offset: { type: "string" }, context: {} },
          }),
          "400": json("Malformed request, checkpoint or offset", error),
          "401": json("Invalid credentials", error),
        },
      },
    },
    "/talkdesk/validate": {
      post: {
        summary: "Checks Talkdesk credentials",
        requestBody: { content: { "application/json": { schema: talkdeskRequest } } },
        responses: { ...common, "200": json("Valid", { type: "object" }), "400": json("Not JSON", error), "401": json("Invalid credentials", error) },
      },
    },
    "/direct/items/phonecalls/create": {
      get: { summary: "Creates a phonecall", parameters: createParameters, responses: createResponses },
      post: { summary: "Creates a phonecall (form)", requestBody: formOf(createParameters), responses: createResponses },
    },
    "/direct/items/phonecalls/delete": {
      get: { summary: "Deletes the phonecalls of the days between from and to", parameters: deleteParameters, responses: deleteResponses },
      post: { summary: "Deletes phonecalls (form)", requestBody: formOf(deleteParameters), responses: deleteResponses },
    },
  },
} as const;
