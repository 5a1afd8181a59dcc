/**
 * Where dbsync keeps its own progress (never in the target database): checkpoints, the webhook
 * outbox and the hashes of the phonecalls service's tokens.
 */
import type { WebhookOutbox } from "../webhook/outbox.ts";
import type { TokenStore } from "../phonecalls/tokens.ts";
import { FatalError } from "../common/fatal-error.ts";
import type { Checkpoint, CheckpointKey, CheckpointStore } from "../sync/checkpoints.ts";

export type { Checkpoint, CheckpointKey };

export interface StateStore extends CheckpointStore {
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
