// What `dbsync run` shows and does for an operator, as JSON behind the admin token: where every
// campaign of the file stands (as `dbsync status --json` prints it), and putting dead letters back in
// line, which the campaign's owner then delivers. The daemon mounts it beside its health and metrics.
import { Hono } from "hono";
import * as v from "valibot";
import type { WebhookOutbox } from "../core/webhook/outbox.ts";
import { adminGate } from "./admin-token.ts";

export interface FleetApiDeps {
  /** The overview `dbsync status --json` prints. */
  overview: () => Promise<unknown>;
  outbox: Pick<WebhookOutbox, "revive">;
  /** The campaigns of the file: a replay names one of them. */
  campaigns: () => readonly string[];
  adminToken: string | undefined;
  onError?: (error: unknown) => void;
}

const Replay = v.union([
  v.object({ ids: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1), v.maxLength(10_000)) }),
  v.object({ campaign: v.pipe(v.string(), v.minLength(1)) }),
]);

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
    if ("campaign" in output && !deps.campaigns().includes(output.campaign)) {
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

  return app;
}
