// What `dbsync run` shows and does for an operator, as JSON behind the admin token: where every
// campaign of the file stands (as `dbsync status --json` prints it), putting dead letters back in
// line (the campaign's owner then delivers them), and pausing and resuming campaigns (their owner
// stops them and keeps their leases). The daemon mounts it beside its health and metrics.
import { Hono } from "hono";
import * as v from "valibot";
import type { StatusStore } from "../core/state/status.ts";
import type { WebhookOutbox } from "../core/webhook/outbox.ts";
import { adminGate } from "./admin-token.ts";

export interface FleetApiDeps {
  /** The overview `dbsync status --json` prints. */
  overview: () => Promise<unknown>;
  outbox: Pick<WebhookOutbox, "revive">;
  pauses: Pick<StatusStore, "pause" | "resume">;
  /** The campaigns of the file: an action names one of them (by id, and its mode where it has several). */
  campaigns: () => readonly { key: string; campaign: string; mode: string }[];
  adminToken: string | undefined;
  onError?: (error: unknown) => void;
}

const Replay = v.union([
  v.object({ ids: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1), v.maxLength(10_000)) }),
  v.object({ campaign: v.pipe(v.string(), v.minLength(1)) }),
]);

const Target = v.object({ campaign: v.pipe(v.string(), v.minLength(1)), mode: v.optional(v.string()) });

const UNAVAILABLE = "the state store does not answer; try again";

export function fleetApi(deps: FleetApiDeps): Hono {
  const app = new Hono();
  app.use("*", adminGate(deps.adminToken));

  app.get("/status", async (c) => {
    try {
      return c.json(await deps.overview());
    } catch (error) {
      deps.onError?.(error);
      return c.json({ error: UNAVAILABLE }, 503);
    }
  });

  app.post("/dead-letters/replay", async (c) => {
    const body = v.safeParse(Replay, await c.req.json().catch(() => undefined));
    if (!body.success) return c.json({ error: 'send {"ids": ["msg_…", …]} or {"campaign": "ID"}' }, 400);
    const { output } = body;
    if ("campaign" in output && !deps.campaigns().some((entry) => entry.campaign === output.campaign)) {
      return c.json({ error: `no campaign ${output.campaign} in the config file` }, 404);
    }
    const filter = "ids" in output ? { ids: output.ids } : { campaign: output.campaign };
    try {
      const ids = await deps.outbox.revive(filter, Date.now());
      return c.json({ replayed: ids.length, ids });
    } catch (error) {
      deps.onError?.(error);
      return c.json({ error: UNAVAILABLE }, 503);
    }
  });

  for (const action of ["pause", "resume"] as const) {
    app.post(`/campaigns/${action}`, async (c) => {
      const body = v.safeParse(Target, await c.req.json().catch(() => undefined));
      if (!body.success) return c.json({ error: 'send {"campaign": "ID"}, with "mode" to choose one of its modes' }, 400);
      const { campaign, mode } = body.output;
      const keys = deps
        .campaigns()
        .filter((entry) => entry.campaign === campaign && (mode === undefined || entry.mode === mode))
        .map((entry) => entry.key);
      if (keys.length === 0) return c.json({ error: `no campaign ${campaign}${mode ? ` in mode ${mode}` : ""} in the config file` }, 404);
      try {
        await deps.pauses[action](keys);
        return c.json({ [action === "pause" ? "paused" : "resumed"]: keys.length });
      } catch (error) {
        deps.onError?.(error);
        return c.json({ error: UNAVAILABLE }, 503);
      }
    });
  }

  return app;
}
