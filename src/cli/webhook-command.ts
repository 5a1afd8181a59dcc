// `dbsync webhook failed` lists the dead-letter list of webhook mode; `dbsync webhook replay` sends
// (some of) it again and waits until each is delivered or dead once more.
import { defineCommand } from "citty";
import * as v from "valibot";
import type { FailedFilter, OutboxEntry } from "../core/webhook/outbox.ts";
import { UsageError, withEnvironment } from "./argv.ts";
import { nonEmptyText, parseFlags, switchFlag, valueFlag } from "./flag-schemas.ts";
import { addSecret, createLogger } from "./logger.ts";
import { onShutdown } from "./shutdown.ts";
import { parseStartDate } from "./sync-config.ts";
import { withStateStore } from "./state-option.ts";
import { receiverUrl, WEBHOOK_DELIVERY_FLAGS, WEBHOOK_DELIVERY_SCHEMA, webhookDeliveryConfig } from "./webhook-config.ts";
import { createDeliverer, displayUrl } from "../campaign/webhook.ts";

const SELECT_FLAGS = {
  state: valueFlag("State store: a libSQL file or server, PostgreSQL or MySQL/MariaDB URL (default: the sync's)", "url"),
  c: valueFlag("Only deliveries of this campaign", "id"),
  since: valueFlag("Only deliveries dead-lettered at or after this time (UTC unless given)", "date"),
  id: valueFlag("Only these webhook-ids (comma separated)", "ids"),
} as const;

const SelectSchema = {
  state: v.optional(nonEmptyText("state")),
  c: v.optional(nonEmptyText("c")),
  since: v.optional(v.string()),
  id: v.optional(v.string()),
};

type Selected = { state?: string; c?: string; since?: string; id?: string };

function filterOf(flags: Selected): FailedFilter {
  const ids = flags.id
    ?.split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  // An empty --id must not widen a replay to everything.
  if (flags.id !== undefined && !ids?.length) throw new UsageError("--id needs at least one webhook-id (msg_…)");
  return {
    campaign: flags.c,
    since: flags.since?.trim() ? parseStartDate(flags.since, "since") : undefined,
    ids,
  };
}

const FAILED_FLAGS = { ...SELECT_FLAGS, json: switchFlag("One JSON object per line, with the body") } as const;

const failedCommand = defineCommand({
  meta: { name: "failed", description: "List webhook deliveries that failed their last attempt" },
  args: FAILED_FLAGS,
  async run({ args }) {
    const flags = parseFlags(
      v.object({ ...SelectSchema, json: v.optional(v.boolean(), false) }),
      withEnvironment(args, FAILED_FLAGS, process.env),
    );
    const entries = await withStateStore(flags.state, (state) => state.outbox.failed(filterOf(flags)));
    if (flags.json) {
      for (const entry of entries) process.stdout.write(`${JSON.stringify({ ...entry, url: displayUrl(entry.url) })}\n`);
      return;
    }
    process.stdout.write(entries.length === 0 ? "no failed deliveries\n" : `${table(entries)}\n`);
  },
});

function table(entries: readonly OutboxEntry[]): string {
  const header = ["webhook-id", "campaign", "contact", "fired", "state", "attempts", "failed at", "receiver", "last error"];
  const rows = entries.map((e) => [
    e.id,
    e.campaign,
    e.contactId,
    e.fired ?? "",
    e.state,
    String(e.attempts),
    e.failedAt ?? "",
    displayUrl(e.url),
    (e.lastError ?? "").slice(0, 120),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [`${entries.length} failed ${entries.length === 1 ? "delivery" : "deliveries"}:`, line(header), ...rows.map(line)].join("\n");
}

const REPLAY_FLAGS = {
  ...SELECT_FLAGS,
  url: valueFlag("Send to this URL instead of the one each delivery was recorded for", "url"),
  all: switchFlag("Also deliveries of which a newer version was recorded since (their content is old)"),
  ...WEBHOOK_DELIVERY_FLAGS,
} as const;

/** How often a running replay says how far it is. */
const REPLAY_PROGRESS_MS = 10_000;

const replayCommand = defineCommand({
  meta: { name: "replay", description: "Send failed webhook deliveries again (same webhook-id), in their order" },
  args: REPLAY_FLAGS,
  async run({ args }) {
    const flags = parseFlags(
      v.object({ ...SelectSchema, url: v.optional(v.string()), all: v.optional(v.boolean(), false), ...WEBHOOK_DELIVERY_SCHEMA }),
      withEnvironment(args, REPLAY_FLAGS, process.env),
    );
    const delivery = webhookDeliveryConfig(flags);
    addSecret(delivery.secret);
    const url = flags.url === undefined ? undefined : receiverUrl(flags.url);
    const filter = filterOf(flags);
    const log = createLogger({ verbose: false, level: 3 });
    process.exitCode = await withStateStore(flags.state, async (state) => {
      const failed = await state.outbox.failed(filter);
      const chosen = failed.filter((entry) => flags.all || !entry.superseded);
      // An interrupted replay left these in line (of this campaign, with --c); they are finished too.
      const only = flags.c ? [flags.c] : undefined;
      const leftover = await state.outbox.pendingCount({ replayed: true, campaigns: only });
      const leftoverSigned = await state.outbox.pendingCount({ replayed: true, signed: true, campaigns: only });
      if (chosen.length === 0 && leftover === 0) {
        const superseded = failed.length - chosen.length;
        const note = superseded > 0 ? ` (${superseded} superseded by newer versions: --all sends them too)` : "";
        process.stdout.write(`no failed deliveries match; nothing to replay${note}\n`);
        return 0;
      }
      if ((chosen.some((entry) => entry.signed) || leftoverSigned > 0) && !delivery.signingKey) {
        throw new UsageError("these deliveries were signed when recorded: give the secret (DBSYNC_WEBHOOK_SECRET or --webhook-secret)");
      }
      const ids = await state.outbox.revive(filter, Date.now(), { url, includeSuperseded: flags.all });
      const skipped = failed.length - ids.length;
      process.stdout.write(
        `replaying ${ids.length} ${ids.length === 1 ? "delivery" : "deliveries"}` +
          `${leftover > 0 ? ` and ${leftover} left by an interrupted replay` : ""}${url ? ` to ${displayUrl(url)}` : ""}` +
          `${skipped > 0 ? `; ${skipped} superseded by a newer version left out (--all sends them too)` : ""}\n`,
      );
      // Deliveries of the same contacts recorded later wait behind these, and those recorded earlier
      // and still pending go first: the replay sends whatever is in line, until its own are settled.
      // A sync running meanwhile may deliver some; the outcome is read back from the outbox.
      // Only the campaigns concerned; a replay of --c A does not send campaign B's deliveries.
      const campaigns = only ?? (leftover > 0 ? undefined : [...new Set(chosen.map((entry) => entry.campaign))]);
      const deliverer = createDeliverer(delivery, state.outbox, { campaigns }, log);
      const done = async () =>
        (await state.outbox.settled(ids)).pending === 0 && (await state.outbox.pendingCount({ replayed: true, campaigns })) === 0;
      // A long replay (a slow receiver, a low --wr) would otherwise say nothing until its end.
      const progress = setInterval(() => {
        state.outbox.settled(ids).then(
          (now) =>
            process.stdout.write(
              `replay: ${now.delivered + now.failed} of ${ids.length} settled ` +
                `(${now.delivered} delivered, ${now.failed} failed again)\n`,
            ),
          () => {}, // the next line or the outcome says it; a progress line is no reason to fail
        );
      }, REPLAY_PROGRESS_MS);
      try {
        await deliverer.run(onShutdown(), { done });
      } finally {
        clearInterval(progress);
      }
      const outcome = await state.outbox.settled(ids);
      process.stdout.write(
        `${outcome.delivered} delivered, ${outcome.failed} failed again` +
          `${outcome.pending > 0 ? `, ${outcome.pending} still pending (interrupted; run replay again)` : ""}\n`,
      );
      return outcome.failed > 0 || outcome.pending > 0 ? 1 : 0;
    });
  },
});

export const webhookCommand = defineCommand({
  meta: { name: "webhook", description: "Dead-letter list of webhook mode: failed, replay" },
  subCommands: { failed: failedCommand, replay: replayCommand },
});
