// What each campaign of `dbsync run` is doing, as its owner last said, and the rows it wrote per
// minute over the last day: what `dbsync status` and the status page show.

export type CampaignState = "running" | "backing_off" | "failed" | "finished" | "stopped" | "paused";

export interface CampaignStatusRecord {
  /** The campaign's key, the same as its lease's name. */
  name: string;
  campaign: string;
  mode: string;
  owner: string | null;
  state: CampaignState;
  /** In words, without secrets. */
  lastError: string | null;
  /** A hash of the settings it runs with (no secret can be read from it). */
  settings: string | null;
  /** Epoch ms, when it entered this state. */
  since: number;
  updatedAt: number;
}

export interface StatusStore {
  report(status: CampaignStatusRecord): Promise<void>;
  list(): Promise<CampaignStatusRecord[]>;
  /** Adds rows written in the minute starting at `minute` (epoch ms); forgets minutes older than a day. */
  addRows(name: string, minute: number, rows: number): Promise<void>;
  /** Rows written per campaign since `sinceMs`. */
  rowsSince(sinceMs: number): Promise<Map<string, number>>;
  /** Pauses these campaigns (by key): their owners stop them and keep their leases. */
  pause(names: readonly string[]): Promise<void>;
  resume(names: readonly string[]): Promise<void>;
  /** The keys of the paused campaigns. */
  paused(): Promise<Set<string>>;
}
