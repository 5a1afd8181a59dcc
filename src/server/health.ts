// What operators and orchestrators ask, as a sub-app: is the process up (/healthz), can it serve
// (/readyz), and its counters with the sync's progress (/metrics). None of them needs a token, so none
// tells a database's address or an error's detail: those go to the log.
import { Hono } from "hono";
import * as v from "valibot";
import type { ContactReader } from "../core/sql/contact-reader.ts";
import type { Checkpoint, CheckpointKey } from "../core/state/state.ts";
import type { Metrics } from "./metrics.ts";
import { answer, describeRoute } from "./openapi.ts";
import { contactsTableMissing, NO_CONTACTS_TABLE } from "./talkdesk.ts";

export interface HealthDeps {
  contacts: ContactReader;
  /** The sync's checkpoints, for the metrics of last sync time and lag. */
  checkpoints: () => Promise<(CheckpointKey & Checkpoint)[]>;
  /** Resolves when the database and the state store answer; rejects with a reason otherwise. */
  ready: () => Promise<void>;
  onError?: (error: unknown) => void;
}

const Status = v.object({ ok: v.boolean(), error: v.optional(v.string()) });

export function healthRoutes(deps: HealthDeps, metrics: Metrics): Hono {
  const app = new Hono();

  app.get("/healthz", describeRoute({ summary: "The process is up", answers: { 200: answer("Up", Status) } }), (c) => c.json({ ok: true }));

  app.get(
    "/readyz",
    describeRoute({
      summary: "The database answers and holds the contacts table",
      answers: {
        200: answer("Ready", Status),
        503: answer("The database or the state store does not answer, or the sync has not written the contacts yet", Status),
      },
    }),
    async (c) => {
      try {
        await deps.ready();
        if (await contactsTableMissing(deps.contacts)) return c.json({ ok: false, error: NO_CONTACTS_TABLE }, 503);
        return c.json({ ok: true });
      } catch (error) {
        // The reason (with the database's address) goes to the log, not to whoever asks.
        deps.onError?.(error);
        return c.json({ ok: false, error: "the database or the state store does not answer" }, 503);
      }
    },
  );

  app.get(
    "/metrics",
    describeRoute({ summary: "Prometheus metrics", answers: { 200: { description: "Prometheus text format", media: "text/plain" } } }),
    async (c) => {
      let checkpoints: (CheckpointKey & Checkpoint)[] = [];
      try {
        checkpoints = await deps.checkpoints();
      } catch (error) {
        deps.onError?.(error);
      }
      return c.text(metrics.render(checkpoints), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    },
  );

  return app;
}
