// The sync's progress: one instant per campaign, mode and target before which everything is durably
// written. The pipeline needs only these two operations; the state store (core/state) provides them
// beside what the other capabilities keep there.

/** One checkpoint belongs to one campaign synced in one mode into one target. */
export interface CheckpointKey {
  campaign: string;
  mode: string;
  /** Identifies the target: its URL without password, plus the table prefix. */
  target: string;
}

export interface Checkpoint {
  /** ISO 8601 instant: everything the campaign changed before it is durably in the target. */
  value: string;
  /** ISO 8601 instant of the last save. */
  updatedAt: string;
}

export interface CheckpointStore {
  getCheckpoint(key: CheckpointKey): Promise<Checkpoint | undefined>;
  /** Durable when it resolves; throws (never ignores) when the store cannot be written. */
  setCheckpoint(key: CheckpointKey, value: string): Promise<void>;
}
