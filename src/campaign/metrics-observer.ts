// What a running campaign tells its host as it goes, for metrics and readiness: every API attempt and
// retry, every answer or silence of its target (the database, or the webhook receiver), the
// checkpoints it reads and saves, its progress, and the webhook deliveries' outcomes. The assembly
// calls it; the host decides what to count. No metrics library here: the core and the single-run
// modes must not need one.
import type { ApiAttempt } from "../core/dialfire/client.ts";
import type { StateStore } from "../core/state/state.ts";
import type { CampaignState } from "../core/state/status.ts";
import type { SyncOptions, SyncStats } from "../core/sync/pipeline.ts";
import type { Sink } from "../core/sync/sink.ts";
import type { DeliveryOutcome } from "../core/webhook/delivery.ts";

export interface CampaignObserver {
  apiAttempt(attempt: ApiAttempt): void;
  /** A failed attempt is tried again. */
  apiRetry(): void;
  /** The point in time up to which the target holds everything, read at the start or saved since. */
  checkpoint(value: string): void;
  progress(stats: SyncStats): void;
  /** The target answered (true), or could not be reached (false) with the reason in words. */
  target(answered: boolean, reason?: string): void;
  delivery(outcome: DeliveryOutcome): void;
  /** Waits for its turn to list (true), or its turn came (false). */
  waitingToList(waiting: boolean): void;
  /** Every change of state, as the supervisor reports it. */
  state(state: CampaignState): void;
}

/**
 * The same store, telling `seen` the campaign's checkpoints it reads and writes; other keys (the
 * webhook's first start, kept as a checkpoint of its own mode) are not the campaign's progress.
 */
export function watchCheckpoints(state: StateStore, seen: (value: string) => void): StateStore {
  const isProgress = (mode: string) => !mode.endsWith("-origin");
  return {
    ...state,
    async getCheckpoint(key) {
      const checkpoint = await state.getCheckpoint(key);
      if (checkpoint && isProgress(key.mode)) seen(checkpoint.value);
      return checkpoint;
    },
    async setCheckpoint(key, value) {
      await state.setCheckpoint(key, value);
      if (isProgress(key.mode)) seen(value);
    },
  };
}

/**
 * The same sink, telling `answered` whether each call reached the target: a database that cannot be
 * reached is a transient error; any other failure (a refused write, a lost lease) was an answer or
 * no call of the target at all, and says nothing either way.
 */
export function watchSink(sink: Sink, answered: (reached: boolean, reason?: string) => void): Sink {
  const watch =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const result = await call(...args);
        answered(true);
        return result;
      } catch (error) {
        if (isUnreachable(error)) answered(false, error instanceof Error ? error.message : String(error));
        throw error;
      }
    };
  const limit = sink.checkpointLimit?.bind(sink);
  return {
    prepare: watch((fields) => sink.prepare(fields)),
    knownMd5: watch((ids) => sink.knownMd5(ids)),
    writeContacts: watch((contacts, found) => sink.writeContacts(contacts, found)),
    writeInboundCalls: watch((calls) => sink.writeInboundCalls(calls)),
    checkpointLimit: limit && watch(limit),
    close: () => sink.close(),
  };
}

/** The same turns, telling the observer while the campaign waits for one. */
export function watchTurn(turn: NonNullable<SyncOptions["listingTurn"]>, observer: CampaignObserver): SyncOptions["listingTurn"] {
  return (listing) => {
    observer.waitingToList(true);
    const listed = turn(() => {
      observer.waitingToList(false);
      return listing();
    });
    // Stopped while waiting, it waits no more.
    return listed.finally(() => observer.waitingToList(false));
  };
}

/** A failure of the kind the pipeline waits out (see its `target`): the database did not answer. */
export function isUnreachable(error: unknown): boolean {
  return (error as { transient?: boolean } | undefined)?.transient === true;
}
