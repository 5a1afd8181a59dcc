/**
 * Where dbsync keeps its own progress (never in the target database): checkpoints, the webhook
 * outbox and the hashes of the phonecalls service's tokens.
 */
import type { WebhookOutbox } from "../webhook/outbox.ts";
import type { TokenStore } from "../phonecalls/tokens.ts";
import { FatalError } from "../common/fatal-error.ts";

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

export interface StateStore {
  getCheckpoint(key: CheckpointKey): Promise<Checkpoint | undefined>;
  /** Durable when it resolves; throws (never ignores) when the store cannot be written. */
  setCheckpoint(key: CheckpointKey, value: string): Promise<void>;
  readonly outbox: WebhookOutbox;
  readonly tokens: TokenStore;
  /** Every checkpoint, for the server's metrics (last sync time and lag per campaign). */
  listCheckpoints(): Promise<(CheckpointKey & Checkpoint)[]>;
  /** Resolves when the store answers a query, for the server's readiness; throws a StateError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The state store cannot be read or written: without it no progress can be kept. */
export class StateError extends FatalError {
  override name = "StateError";
}
