// `dbsync status --config FILE [--json]`: where every campaign of the file stands and which replicas
// run them, read from the state store they share; it changes nothing and needs no running process.
import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import * as v from "valibot";
import {
  type CampaignOverview,
  type FleetCampaign,
  type FleetOverview,
  fleetOverview,
  type ReplicaOverview,
} from "../campaign/fleet-status.ts";
import { UsageError, withEnvironment } from "./argv.ts";
import { parseFlags, requiredText, valueFlag } from "./flag-schemas.ts";
import { loadRunConfig, type RunCampaign } from "./run-config.ts";
import { withStateStore } from "./state-option.ts";
import { defaultTargetUrl } from "./sync-command.ts";

const STATUS_FLAGS = {
  config: valueFlag("The config file of dbsync run", "file"),
  json: { type: "boolean", description: "Print one JSON object, for scripts" },
} as const;

export const statusCommand = defineCommand({
  meta: {
    name: "status",
    description: "Show every campaign of a config file: owner, state, checkpoint, lag, rows, outbox; and the replicas",
  },
  args: STATUS_FLAGS,
  async run({ args }) {
    const flags = parseFlags(
      v.object({ config: requiredText("the config file (--config) is required"), json: v.optional(v.boolean(), false) }),
      { config: undefined, ...withEnvironment(args, STATUS_FLAGS, process.env) },
    );
    const config = await loadRunConfig(flags.config);
    const campaigns = fleetCampaigns(config.campaigns);
    const file = /^file:/i.test(config.stateUrl) ? config.stateUrl.slice(5).split("?")[0] : undefined;
    if (file !== undefined && !existsSync(file)) {
      throw new UsageError(`no state store at ${file} yet: dbsync run has not run with ${flags.config}`);
    }
    // Read only: a monitoring user need not be allowed to create tables.
    const overview = await withStateStore(config.stateUrl, (state) => fleetOverview(state, campaigns, config.leaseSeconds * 1000), {
      readOnly: true,
    });
    process.stdout.write(flags.json ? `${JSON.stringify(overview, null, 2)}\n` : formatOverview(overview));
  },
});

/** The file's campaigns as the overview reads them: a campaign without url writes the default file. */
export function fleetCampaigns(campaigns: readonly RunCampaign[]): FleetCampaign[] {
  return campaigns.map(({ key, config: settings }) => ({
    key,
    settings: { ...settings, url: settings.url ?? (settings.mode === "webhook" ? undefined : defaultTargetUrl(settings.campaign)) },
  }));
}

export function formatOverview(overview: FleetOverview): string {
  const header = ["CAMPAIGN", "MODE", "STATE", "OWNER", "CHECKPOINT", "LAG", "ROWS/1H", "OUTBOX", "DEAD"];
  const rows = overview.campaigns.map((c) => [
    c.campaign,
    c.mode,
    stateOf(c),
    c.owner ?? "-",
    c.checkpoint ?? "-",
    c.lagSeconds === null ? "-" : duration(c.lagSeconds),
    String(c.rowsLastHour),
    c.outboxDepth === null ? "-" : String(c.outboxDepth),
    c.deadLetters === null ? "-" : String(c.deadLetters),
  ]);
  const lines = table([header, ...rows]);
  for (const c of overview.campaigns) {
    if (c.lastError) lines.push(`${c.campaign} ${c.mode}: ${c.lastError}`);
  }
  lines.push("", "REPLICAS");
  if (overview.replicas.length === 0) lines.push("none has run yet");
  lines.push(...table(overview.replicas.map((r) => replicaRow(r, overview.now))));
  return `${lines.join("\n")}\n`;
}

function stateOf(c: CampaignOverview): string {
  // A state reported by a replica that no longer holds the lease is history, not news.
  if (c.owner === null && (c.state === "running" || c.state === "backing_off")) return "waiting";
  return c.state === "backing_off" ? "backing off" : c.state;
}

function replicaRow(r: ReplicaOverview, now: number): string[] {
  const heartbeat = `heartbeat ${duration(Math.max(0, Math.round((now - r.heartbeatAt) / 1000)))} ago`;
  const file = r.sameFile ? "" : "another config file: shares with none of this file's replicas";
  return [r.id, r.stopped ? "stopped" : r.live ? "live" : "silent", heartbeat, `${r.campaigns} campaigns`, file];
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** Columns padded to their widest cell. */
function table(rows: readonly string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "));
}
