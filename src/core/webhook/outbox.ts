/**
 * The webhook outbox: every transaction to deliver is recorded here before it is sent, with the
 * hash of the version last recorded, so that neither a failed delivery nor a restart loses a
 * transaction or sends an old one again as `new` (the original marked a transaction sent before
 * sending it, dropped it when all attempts failed, and kept the marks in memory only). Lives in the
 * state store.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { CheckpointLimit } from "../sync/sink.ts";

/**
 * The deliveries of one campaign. One webhook stream per campaign and state store: its versions,
 * checkpoint and pending deliveries do not depend on the receiver's URL, so a receiver that moves
 * (a new --url) gets what was pending. Two receivers of one campaign need two state stores.
 */
export interface OutboxScope {
  campaign: string;
}

export type DeliveryState = "new" | "updated";

/** A transaction as the webhook sink found it; recorded only when its version is not recorded yet. */
export interface OutboxCandidate {
  contactId: string;
  /** The row id of the SQL modes, unique within the campaign even for transactions sharing a `fired`. */
  transactionId: string;
  fired?: string;
  /** Identifies the version: a hash of the transaction's content. */
  hash: string;
  /** Fired before the start: sent only as an update of a version sent before, never as `new`. */
  history: boolean;
  /** The JSON body to POST, once `new`/`updated` is decided. */
  body(state: DeliveryState): string;
}

export interface OutboxEntry {
  /** The `webhook-id`: stable per transaction version, across attempts and restarts. */
  id: string;
  /** Order of recording; deliveries of one contact go out in this order. */
  seq: number;
  campaign: string;
  /** Where it goes: the receiver the sync runs with, or the one a replay was told. */
  url: string;
  contactId: string;
  transactionId: string;
  /** 1 for the first version of the transaction recorded, then 2, 3, … */
  version: number;
  fired: string | null;
  state: DeliveryState;
  body: string;
  /** Whether it was signed when recorded: a replay must sign it too. */
  signed: boolean;
  status: "pending" | "failed";
  attempts: number;
  /** Epoch ms; while an attempt runs, the end of its lease. */
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: string;
  failedAt: string | null;
  /** A dead letter of which a newer version was recorded since: replaying it would send old content. */
  superseded: boolean;
}

export interface EnqueueResult {
  /** Transactions recorded for delivery, by state. */
  new: number;
  updated: number;
  /** Versions already recorded, and history that was never sent. */
  skipped: number;
}

/** Which dead letters a listing or a replay means. */
export interface FailedFilter {
  campaign?: string;
  /** Dead-lettered at or after this instant. */
  since?: Date;
  ids?: readonly string[];
}

/** Which pending deliveries a deliverer works on (or a count counts). */
export interface DeliverySelection {
  scope?: OutboxScope;
  /** Only dead letters put back in line by a replay. */
  replayed?: boolean;
  /** Only deliveries recorded with a signature. */
  signed?: boolean;
  /** Only deliveries of these campaigns. */
  campaigns?: readonly string[];
}

export interface ReviveOptions {
  /** Send them here instead of their recorded URL. */
  url?: string;
  /** Also dead letters superseded by a newer version of their transaction. */
  includeSuperseded?: boolean;
}

export interface WebhookOutbox {
  /**
   * Records the candidates whose version is not recorded yet, decides `new`/`updated` from the stored
   * versions and remembers the contacts' md5, all in one transaction. `floor` is the checkpoint from
   * which these transactions would be found again; it is held until they are delivered or dead.
   */
  enqueue(
    scope: OutboxScope,
    candidates: readonly OutboxCandidate[],
    contacts: readonly { id: string; md5: string }[],
    options: { url: string; floor: string | undefined; signed: boolean },
  ): Promise<EnqueueResult>;
  /** The contact md5 recorded by the last enqueue of each contact. */
  knownContactMd5(scope: OutboxScope, ids: readonly string[]): Promise<Map<string, string | null>>;
  /** Forgets the contacts' md5, so that the next listing fetches every contact again. */
  forgetContacts(scope: OutboxScope): Promise<void>;
  /** Sends the scope's pending deliveries (not replays) to `url` from now on; returns how many moved. */
  retarget(scope: OutboxScope, url: string): Promise<number>;
  /**
   * Pending deliveries due at `nowMs`, each the next in line of its contact: only the oldest pending
   * delivery of a contact is ever due, so a contact's deliveries go out in order, one at a time.
   */
  due(selection: DeliverySelection, nowMs: number, limit: number): Promise<OutboxEntry[]>;
  /** Takes a due delivery for an attempt until `leaseUntilMs`; false when another took it first. */
  claim(id: string, nowMs: number, leaseUntilMs: number): Promise<boolean>;
  /*
   * The writes of an attempt's outcome. Given the `lease` of the claim, they change the delivery only
   * while that claim holds: an attempt that outlived its lease (another deliverer has it now) writes
   * nothing.
   */
  /** Delivered: gone from the outbox (its version stays recorded); the contact's next is due. */
  delivered(id: string, nowMs: number, lease?: number): Promise<void>;
  /** An attempt failed; the next is due at `nextAttemptAt` (epoch ms). */
  retryLater(id: string, attempts: number, nextAttemptAt: number, error: string, lease?: number): Promise<void>;
  /** Gives an attempt back without counting it (shutdown during an attempt). */
  release(id: string, nowMs: number, lease?: number): Promise<void>;
  /** The last attempt failed: into the dead-letter list; the contact's next is due. */
  deadLetter(id: string, attempts: number, error: string, at: Date, lease?: number): Promise<void>;
  failed(filter: FailedFilter): Promise<OutboxEntry[]>;
  /** How many dead letters match, without reading them (for metrics). */
  failedCount(filter: FailedFilter): Promise<number>;
  /**
   * Puts matching dead letters back in line with fresh attempts, marked as replayed (they no longer
   * hold the checkpoint back: they were past it already). Superseded ones stay unless asked for.
   */
  revive(filter: FailedFilter, nowMs: number, options?: ReviveOptions): Promise<string[]>;
  /** Where these deliveries stand: gone (delivered), dead again, or still pending. */
  settled(ids: readonly string[]): Promise<{ delivered: number; failed: number; pending: number }>;
  /** Pending deliveries of the selection (none means all). */
  pendingCount(selection?: DeliverySelection): Promise<number>;
  /**
   * How far the checkpoint may move while deliveries are pending: unlimited when none pend, at most
   * the lowest floor among them, frozen when a pending one has no floor (found by a full listing).
   */
  checkpointLimit(scope: OutboxScope): Promise<CheckpointLimit>;
  /** Earliest `nextAttemptAt` among pending deliveries next in line; undefined when there is none. */
  nextDueAt(selection: DeliverySelection): Promise<number | undefined>;
  /** Makes sure every contact with pending deliveries has one next in line (cheap; run at start). */
  repairLines(nowMs: number): Promise<void>;
}

export function scopeKey(scope: OutboxScope): string {
  return scope.campaign;
}

/**
 * The `webhook-id` of a version: derived, not drawn, so that recording it again after a crash gives
 * the same id. The version number counts the versions of the transaction recorded so far, so a
 * transaction that changes back to an earlier content is a new delivery, not a duplicate.
 */
export function webhookId(scope: OutboxScope, transactionId: string, version: number, hash: string): string {
  // The content too: a state store started afresh counts versions from 1 again, with new content.
  const digest = sha256(utf8ToBytes([scopeKey(scope), transactionId, String(version), hash].join("\n")));
  return `msg_${bytesToHex(digest).slice(0, 32)}`;
}
