// Leases: which `dbsync run` replica runs a campaign now. One row per campaign; its fencing token
// grows with every change of owner, and every write of a campaign's progress (checkpoint, outbox)
// checks it in the same transaction, so a replica that was paused past its lease's end and wakes up
// moves nothing. Times are epoch milliseconds of the database's clock, which every replica shares
// (the machines' own clocks may differ).
import { FatalError } from "../common/fatal-error.ts";

export interface Lease {
  /** The campaign's key (campaign, mode and target). */
  name: string;
  owner: string;
  /** The fencing token: grows with every change of owner, never goes back. */
  token: number;
  /** Epoch ms, database clock. */
  expiresAt: number;
}

/** The lease a write must still hold: its name and the token it was granted with. */
export interface Fence {
  name: string;
  token: number;
}

export interface ReplicaRecord {
  id: string;
  host: string;
  pid: number;
  /** Epoch ms, database clock. */
  startedAt: number;
  heartbeatAt: number;
  /** It stopped cleanly and handed its leases over. */
  stopped: boolean;
  /** A hash of the campaigns of its config file. */
  campaigns: string;
}

export interface LeaseStore {
  /** The database's clock, epoch ms. */
  now(): Promise<number>;
  /**
   * Takes the lease when nobody holds it, when it expired, or when `owner` holds it already (then it
   * is renewed, token unchanged). A new owner gets a token above every earlier one of this name.
   * Undefined when another owner holds it.
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a lease still held with this token; undefined when it is not (stop at once). */
  renew(lease: Fence & { owner: string }, ttlMs: number): Promise<Lease | undefined>;
  /** Ends a lease still held with this token at once, so another replica takes it without waiting. */
  release(lease: Fence & { owner: string }): Promise<void>;
  list(): Promise<Lease[]>;
  /** Registers the replica or refreshes its heartbeat (and clears `stopped`). */
  heartbeat(replica: { id: string; host: string; pid: number; campaigns: string }): Promise<void>;
  /** Marks the replica as stopped cleanly. */
  leave(id: string): Promise<void>;
  replicas(): Promise<ReplicaRecord[]>;
}

/**
 * A write was refused: the campaign's lease went to another owner (or ended) since it was granted.
 * Fatal: trying again can only be refused again, and a db_sync must stop at once, not after its
 * failed polls add up.
 */
export class LeaseLostError extends FatalError {
  override name = "LeaseLostError";
}

/** Whether the error, or one it was caused by, is a LeaseLostError (stores and the pipeline wrap errors). */
export function isLeaseLost(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 10; cause = cause.cause, depth++) {
    if (cause instanceof LeaseLostError) return true;
  }
  return false;
}
