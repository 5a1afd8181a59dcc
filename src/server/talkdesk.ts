// The Talkdesk contact-synchronization bridge as a sub-app: Talkdesk checks its credentials
// (validate) and pages through the contacts the sync wrote (contact_sync). Mounted at /talkdesk.
import { Hono } from "hono";
import * as v from "valibot";
import { sameSecret } from "../core/common/secrets.ts";
import type { ContactReader } from "../core/sql/contact-reader.ts";
import { TargetError } from "../core/sql/dialect.ts";
import { type MappingFile, resolveMapping } from "../core/talkdesk/contact-mapping.ts";
import {
  ContactSyncRequestSchema,
  ContactSyncResponseSchema,
  CredentialsSchema,
  contactSyncPage,
  encodeCheckpoint,
  TalkdeskRequestError,
} from "../core/talkdesk/talkdesk.ts";
import type { Metrics } from "./metrics.ts";
import { answer, describeRoute, errorAnswer, jsonBody } from "./openapi.ts";

export interface TalkdeskSettings {
  /** Without credentials every Talkdesk request is refused: the bridge never runs open. */
  credentials?: { username: string; password: string };
  mapping?: MappingFile;
  pageSize: number;
  settleMs: number;
}

export interface TalkdeskDeps {
  contacts: ContactReader;
  talkdesk: TalkdeskSettings;
  onError?: (error: unknown) => void;
  now?: () => Date;
}

/** The sync has not written this database (or `--url` names another one): nothing to serve yet. */
export const NO_CONTACTS_TABLE = "no contacts yet: the contacts table does not exist in this database (has the sync written it?)";

export async function contactsTableMissing(contacts: ContactReader): Promise<boolean> {
  return (await contacts.columns()).length === 0;
}

/**
 * Any JSON is a question of validate: whatever does not hold well-formed credentials is answered
 * "invalid credentials" (401), not a 400 that would tell the caller what shape we expect.
 */
const ValidateRequestSchema = v.fallback(v.object({ auth: v.optional(CredentialsSchema) }), {});

export function talkdeskRoutes(deps: TalkdeskDeps, metrics: Metrics): Hono {
  const app = new Hono();

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

  app.post(
    "/validate",
    describeRoute({
      summary: "Checks Talkdesk credentials",
      answers: {
        200: answer("Valid", v.object({ valid: v.literal(true) })),
        400: errorAnswer("Not JSON"),
        401: answer("Invalid credentials", v.object({ valid: v.literal(false), error: v.string() })),
      },
    }),
    jsonBody(ValidateRequestSchema),
    (c) => (authorised(c.req.valid("json").auth) ? c.json({ valid: true }) : c.json({ valid: false, error: "invalid credentials" }, 401)),
  );

  app.post(
    "/contact_sync",
    describeRoute({
      summary: "Talkdesk contact synchronization: initial, incremental, next page",
      answers: {
        200: answer("A page of contacts, ascending by the checkpoint", ContactSyncResponseSchema),
        400: errorAnswer("Malformed request, checkpoint or offset"),
        401: errorAnswer("Invalid credentials"),
      },
    }),
    jsonBody(ContactSyncRequestSchema),
    async (c) => {
      const request = c.req.valid("json");
      if (!authorised(request.auth)) return c.json({ error: "invalid credentials" }, 401);
      try {
        // A checkpoint from a table that is not there would later skip every contact written before it.
        if (await contactsTableMissing(deps.contacts)) return c.json({ error: NO_CONTACTS_TABLE }, 503, { "retry-after": "60" });
        const page = await contactSyncPage(deps.contacts, request, {
          mapping: resolveMapping(await deps.contacts.columns(), deps.talkdesk.mapping),
          pageSize: deps.talkdesk.pageSize,
          settleMs: deps.talkdesk.settleMs,
          now: deps.now,
        });
        // Nothing at all to start from (the sync has made the table but not yet written a contact):
        // the checkpoint is the very start, not now. The contacts the sync writes next carry their own
        // change times, older than now, and a checkpoint of now would pass over every one of them.
        const { synchronization_checkpoint: given, offset } = request.meta;
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
    },
  );

  return app;
}
