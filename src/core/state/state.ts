/**
 * Where dbsync keeps its own progress (never in the target database): checkpoints, the webhook
 * outbox, the hashes of the phonecalls service's tokens, and for `dbsync run` the campaigns' leases,
 * replicas and status.
 */
import type { WebhookOutbox } from "../webhook/outbox.ts";
import type { TokenStore } from "../phonecalls/tokens.ts";
import { FatalError } from "../common/fatal-error.ts";
import type { Checkpoint, CheckpointKey, CheckpointStore } from "../sync/checkpoints.ts";
import { type Fence, LeaseLostError, type LeaseStore } from "./leases.ts";
import type { StatusStore } from "./status.ts";

export type { Checkpoint, CheckpointKey };

export interface StateStore extends CheckpointStore {
  readonly outbox: WebhookOutbox;
  readonly tokens: TokenStore;
  readonly leases: LeaseStore;
  readonly status: StatusStore;
  /** Every checkpoint, for the server's metrics (last sync time and lag per campaign). */
  listCheckpoints(): Promise<(CheckpointKey & Checkpoint)[]>;
  /**
   * The same store, whose checkpoint and outbox writes first check that this lease still holds: a
   * LeaseLostError, and nothing written, once another owner took it. Closing it closes nothing: the
   * store it came from owns the connection.
   */
  fenced(fence: Fence): StateStore;
  /** Resolves when the store answers a query, for the server's readiness; throws a StateError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The state store cannot be read or written: without it no progress can be kept. */
export class StateError extends FatalError {
  override name = "StateError";
}

/** Runs one operation of the store: what fails is a StateError saying `what`, except a lost lease, which stays what it is. */
export async function stateOperation<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StateError || error instanceof LeaseLostError) throw error;
    throw new StateError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
