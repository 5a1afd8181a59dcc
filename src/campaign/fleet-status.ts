// Where every campaign of a config file stands, read from the state store its replicas share: who
// runs it, in which state, how far its checkpoint is, how many rows it wrote in the last hour, what
// its webhook outbox holds; and the replicas with their heartbeats. What `dbsync status` prints.
import type { Lease, ReplicaRecord } from "../core/state/leases.ts";
import type { CheckpointKey, StateStore } from "../core/state/state.ts";
import type { CampaignState } from "../core/state/status.ts";
import { campaignsHash } from "./lease-keeper.ts";
import type { CampaignSettings } from "./settings.ts";
import { safeTargetUrl } from "./target-url.ts";
import { displayUrl } from "./webhook.ts";

export interface CampaignOverview {
  campaign: string;
  mode: string;
  /** The target without password, or the receiver in webhook mode. */
  target: string | null;
  /** The replica holding the lease now; null when none does (it waits for one). */
  owner: string | null;
  /** As its owner last reported it; "waiting" when no replica has run it yet. */
  state: CampaignState | "waiting";
  lastError: string | null;
  /** ISO 8601: everything before it is in the target (or recorded for delivery). */
  checkpoint: string | null;
  /** Seconds from the checkpoint to now. */
  lagSeconds: number | null;
  rowsLastHour: number;
  /** Webhook deliveries waiting (webhook mode only). */
  outboxDepth: number | null;
  deadLetters: number | null;
}

export interface ReplicaOverview extends Omit<ReplicaRecord, "campaigns"> {
  /** Heartbeat within the lease time and not stopped. */
  live: boolean;
  /** Leases it holds now. */
  campaigns: number;
  /** It runs the campaigns of this file (another file's replicas do not share with this one's). */
  sameFile: boolean;
}

export interface FleetOverview {
  /** Epoch ms, the state store's clock. */
  now: number;
  campaigns: CampaignOverview[];
  replicas: ReplicaOverview[];
}

/** One campaign of the file: its lease name (the key) and its settings. */
export interface FleetCampaign {
  key: string;
  settings: CampaignSettings;
}

const HOUR_MS = 3_600_000;

export async function fleetOverview(state: StateStore, campaigns: readonly FleetCampaign[], leaseMs: number): Promise<FleetOverview> {
  const now = await state.leases.now();
  const leases = new Map<string, Lease>((await state.leases.list()).map((lease) => [lease.name, lease]));
  const statuses = new Map((await state.status.list()).map((status) => [status.name, status]));
  const rows = await state.status.rowsSince(now - HOUR_MS);
  const checkpoints = await state.listCheckpoints();
  const overviews: CampaignOverview[] = [];
  for (const { key, settings } of campaigns) {
    const lease = leases.get(key);
    const status = statuses.get(key);
    const target = targetOf(settings);
    const checkpoint = checkpointOf(settings, checkpoints);
    const webhook = settings.mode === "webhook";
    overviews.push({
      campaign: settings.campaign,
      mode: settings.mode,
      target,
      owner: lease && lease.expiresAt > now ? lease.owner : null,
      state: status?.state ?? "waiting",
      lastError: status?.state === "backing_off" ? status.lastError : null,
      checkpoint: checkpoint?.value ?? null,
      lagSeconds: checkpoint ? Math.max(0, Math.round((now - Date.parse(checkpoint.value)) / 1000)) : null,
      rowsLastHour: rows.get(key) ?? 0,
      outboxDepth: webhook ? await state.outbox.pendingCount({ campaigns: [settings.campaign] }) : null,
      deadLetters: webhook ? await state.outbox.failedCount({ campaign: settings.campaign }) : null,
    });
  }
  const file = campaignsHash(campaigns.map((campaign) => campaign.key));
  const replicas = (await state.leases.replicas()).map(({ campaigns: theirs, ...replica }) => ({
    ...replica,
    live: !replica.stopped && replica.heartbeatAt > now - leaseMs,
    campaigns: [...leases.values()].filter((lease) => lease.owner === replica.id && lease.expiresAt > now).length,
    sameFile: theirs === file,
  }));
  return { now, campaigns: overviews, replicas };
}

/** The target as the messages show it: without password; the receiver without its query in webhook mode. */
function targetOf(settings: CampaignSettings): string | null {
  if (!settings.url) return null;
  return (settings.mode === "webhook" ? displayUrl(settings.url) : safeTargetUrl(settings.url)) ?? null;
}

/** The campaign's checkpoint among all of the store's: everything before its value is in the target. */
export function checkpointOf<T extends CheckpointKey>(settings: CampaignSettings, checkpoints: readonly T[]): T | undefined {
  const target = checkpointTarget(settings, targetOf(settings));
  return checkpoints.find((c) => c.campaign === settings.campaign && c.mode === settings.mode && c.target === target);
}

/** The checkpoint's target as the sync keys it: the database without password and the table prefix. */
function checkpointTarget(settings: CampaignSettings, target: string | null): string {
  return settings.mode === "webhook" ? "" : `${target}|${settings.tablePrefix}`;
}
