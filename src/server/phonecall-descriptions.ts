// The phonecall routes' descriptions for the OpenAPI document, kept here only until the routes'
// own file carries them beside its handlers.
import * as v from "valibot";
import { type Answer, answer, describeRoute, ErrorBody } from "./openapi.ts";

const text = (description: string) => v.pipe(v.string(), v.description(description));
const optionalText = (description: string) => v.optional(text(description));

const token = text("Token of the web service");
const CreateParameters = v.object({
  token,
  initiated: text("Date and time of the call, ISO 8601 (UTC without a zone)"),
  source: text("Number the call came from"),
  destination: text("Number called; finds the contact"),
  duration: optionalText("Duration in seconds"),
  url: optionalText("Link to more about the call (http/https)"),
});
const DeleteParameters = v.object({
  token,
  from: text("Day (YYYY-MM-DD), exclusive"),
  to: text("Day (YYYY-MM-DD), exclusive"),
});

const Refusal = v.object({ error: v.literal(true), errors: v.record(v.string(), v.string()) });
const refusal = (description: string): Answer => answer(description, Refusal);

/** The same parameters in the query string, a form or a JSON object. */
const body = (parameters: v.GenericSchema) => ({ "application/x-www-form-urlencoded": parameters, "application/json": parameters });

export const describeCreate = describeRoute({
  summary: "Creates a phonecall (parameters in the query string, a form or a JSON object)",
  query: CreateParameters,
  body: body(CreateParameters),
  answers: {
    200: {
      description: "The call, stored now or before",
      schema: v.object({
        error: v.literal(false),
        contactId: v.string(),
        phonecallId: v.number(),
        created: v.pipe(v.boolean(), v.description("false when the same call (initiated, source, destination) existed")),
      }),
    },
    400: refusal("Invalid parameters, one entry each"),
    401: refusal("Invalid token"),
    422: refusal("No contact has the destination number, or several have it"),
    503: {
      description: "The phone index is being built (errors.destination), or the database is not available (error)",
      schema: v.union([Refusal, ErrorBody]),
    },
  },
});

export const describeDelete = describeRoute({
  summary: "Deletes the phonecalls of the days between from and to",
  query: DeleteParameters,
  body: body(DeleteParameters),
  answers: {
    200: answer("How many calls were deleted", v.object({ count: v.number(), error: v.literal(false) })),
    400: refusal("Invalid parameters"),
    401: refusal("Invalid token"),
  },
});
