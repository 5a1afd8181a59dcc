// How the replicas of `dbsync run` that share a state store share its campaigns: each keeps its
// heartbeat and its leases fresh every quarter of the lease time, holds its fair share of the
// campaigns (an even split, by the sorted ids of the live replicas: no one holds two more than
// another), hands back what is above its share, and takes leases nobody holds or whose holder stopped
// renewing them. It decides only which leases to hold; the host starts and stops the campaigns.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Lease, LeaseStore, ReplicaRecord } from "../core/state/leases.ts";

export interface ReplicaIdentity {
  id: string;
  host: string;
  pid: number;
}

/** What a round decided: the leases held now, and those to hand back once their campaigns stopped. */
export interface LeaseRound {
  held: ReadonlyMap<string, Lease>;
  /** Held but above this replica's share: stop their campaigns, then `handBack` them. */
  surplus: string[];
  /** Held before this round and lost (another replica has them now): stop their campaigns at once. */
  lost: string[];
}

export class LeaseKeeper {
  readonly #store: LeaseStore;
  readonly #replica: ReplicaIdentity;
  readonly #ttlMs: number;
  readonly #held = new Map<string, Lease>();
  /** When (this process's monotonic clock) the last grant or renewal of each held lease was asked for. */
  readonly #grantedAt = new Map<string, number>();
  /** This process's monotonic clock, in ms. */
  readonly #clock: () => number;
  /** When the last round reached the store. */
  #lastContact: number;

  /** Hears why a lease could not be taken (the store refused, not another replica holding it). */
  readonly #onError: (error: unknown) => void;

  constructor(
    store: LeaseStore,
    replica: ReplicaIdentity,
    ttlMs: number,
    clock: () => number = () => performance.now(),
    onError: (error: unknown) => void = () => {},
  ) {
    this.#onError = onError;
    this.#store = store;
    this.#replica = replica;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
    this.#lastContact = clock();
  }

  get held(): ReadonlyMap<string, Lease> {
    return this.#held;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * How long between rounds: a quarter of the lease, so that a lease is renewed well before it runs
   * out, and a dead replica's campaigns are taken within the lease and a third of it more, even with
   * the round's own work and a start on top.
   */
  get intervalMs(): number {
    return Math.max(100, Math.floor(this.#ttlMs / 4));
  }

  /**
   * One round over the campaigns of the config file (`names`). Throws when the store cannot be
   * reached; see `outOfTouch`.
   */
  async round(names: readonly string[]): Promise<LeaseRound> {
    const campaigns = campaignsHash(names);
    await this.#store.heartbeat({ ...this.#replica, campaigns });
    const lost = await this.#renew();
    // In touch once the leases held are renewed: taking more may fail lease by lease.
    this.#lastContact = this.#clock();
    const now = await this.#store.now();
    // Shared only with the replicas running the same campaigns: one with another file (a rolling
    // change, a mistake) would be counted for campaigns it never takes.
    const live = liveReplicas(await this.#store.replicas(), now, this.#ttlMs, campaigns);
    const wanted = new Set(names);
    // Leases of campaigns no longer in the file are handed back with the surplus.
    const share = shareOf(this.#replica.id, live, wanted.size);
    const mine = [...this.#held.keys()].filter((name) => wanted.has(name)).sort();
    const surplus = [...[...this.#held.keys()].filter((name) => !wanted.has(name)), ...mine.slice(share)];
    if (mine.length < share) await this.#take(wanted, share - mine.length, now);
    return { held: this.#held, surplus, lost };
  }

  /** How long ago (ms) a round last reached the store (or this keeper was made). */
  get sinceContactMs(): number {
    return this.#clock() - this.#lastContact;
  }

  /**
   * True once no round reached the store for a whole lease time: the leases may have gone to other
   * replicas without this one hearing of it, so its campaigns must stop (their writes would be
   * refused anyway, their fences checked in the store).
   */
  outOfTouch(): boolean {
    return this.#clock() - this.#lastContact > this.#ttlMs;
  }

  /**
   * Whether the lease is surely still this replica's: held, and asked for or renewed less than the
   * lease time ago, less a margin for the clocks of the machines, by this process's monotonic clock
   * (which a stall, a long collection or SIGSTOP moves on like the database's; a suspended virtual
   * machine's may not: there only the fences and the stamps' order protect the data). The store's
   * clock only ends it later: the grant is dated there after it was asked for here.
   */
  mayWrite(name: string): boolean {
    const grantedAt = this.#grantedAt.get(name);
    return this.#held.has(name) && grantedAt !== undefined && this.#clock() - grantedAt < this.#ttlMs - this.#marginMs;
  }

  /** Stamps of different machines are compared: a second for the stamp's precision plus their clocks' drift. */
  get #marginMs(): number {
    return Math.max(1000, this.#ttlMs / 6);
  }

  /** Forgets every lease without a word to the store (after being out of touch). */
  dropAll(): string[] {
    const names = [...this.#held.keys()];
    this.#held.clear();
    this.#grantedAt.clear();
    return names;
  }

  /** Ends these leases at once, so another replica takes them without waiting for them to run out. */
  async handBack(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const lease = this.#held.get(name);
      if (!lease) continue;
      this.#held.delete(name);
      this.#grantedAt.delete(name);
      await this.#store.release(lease);
    }
  }

  /**
   * A clean stop: every lease handed back but those of campaigns still running (`keep`: they run out
   * by themselves), the replica marked as gone.
   */
  async leave(keep: readonly string[] = []): Promise<void> {
    await this.handBack([...this.#held.keys()].filter((name) => !keep.includes(name)));
    await this.#store.leave(this.#replica.id);
  }

  async #renew(): Promise<string[]> {
    const lost: string[] = [];
    for (const [name, lease] of this.#held) {
      const askedAt = this.#clock();
      // Not renewed this round (a lock held too long, a hiccup): still held, but writing stops being
      // safe when its grant gets old (mayWrite), and the next round tries again.
      const renewed = await this.#store.renew(lease, this.#ttlMs).catch(() => "not now" as const);
      if (renewed === "not now") continue;
      if (renewed) {
        this.#held.set(name, renewed);
        this.#grantedAt.set(name, askedAt);
      } else {
        this.#held.delete(name);
        this.#grantedAt.delete(name);
        lost.push(name);
      }
    }
    return lost;
  }

  async #take(wanted: ReadonlySet<string>, count: number, now: number): Promise<void> {
    const leases = new Map((await this.#store.list()).map((lease) => [lease.name, lease]));
    // Free ones first in name order; a lease whose holder stopped renewing it counts as free.
    const free = [...wanted].filter((name) => !this.#held.has(name) && !((leases.get(name)?.expiresAt ?? 0) > now)).sort();
    for (const name of free) {
      if (count === 0) return;
      const askedAt = this.#clock();
      // One lease that cannot be taken now (its row locked by a stalled replica's transaction, say)
      // is tried again next round; the others are taken meanwhile.
      const lease = await this.#store.acquire(name, this.#replica.id, this.#ttlMs).catch((error: unknown) => {
        this.#onError(error);
        return undefined;
      });
      if (lease) {
        this.#held.set(name, lease);
        this.#grantedAt.set(name, askedAt);
        count--;
      }
    }
  }
}

/** The replicas that renewed their heartbeat within the lease time, did not leave, and run these campaigns. */
export function liveReplicas(replicas: readonly ReplicaRecord[], now: number, ttlMs: number, campaigns: string): string[] {
  return replicas
    .filter((replica) => !replica.stopped && replica.heartbeatAt > now - ttlMs && replica.campaigns === campaigns)
    .map((replica) => replica.id);
}

/** Which campaigns a replica runs, as one short text: the same for the same campaigns in any order. */
export function campaignsHash(names: readonly string[]): string {
  return bytesToHex(sha256(utf8ToBytes([...names].sort().join("\n")))).slice(0, 32);
}

/** This replica's share of `campaigns` split evenly over the live replicas (itself among them). */
export function shareOf(self: string, live: readonly string[], campaigns: number): number {
  const sorted = [...new Set([...live, self])].sort();
  const place = sorted.indexOf(self);
  return Math.floor(campaigns / sorted.length) + (place < campaigns % sorted.length ? 1 : 0);
}
