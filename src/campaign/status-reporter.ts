// What one campaign of `dbsync run` tells the state store about itself, for `dbsync status` and the
// status page: its state with the last failure in words, and the rows it wrote per minute. Reports
// are written as they come but never wait the campaign: a state store that is slow or down costs the
// campaign nothing (its own writes there would fail and say so).
import type { CampaignState, StatusStore } from "../core/state/status.ts";
import type { SyncStats } from "../core/sync/pipeline.ts";

const MINUTE_MS = 60_000;

export class StatusReporter {
  readonly #store: StatusStore;
  readonly #name: string;
  readonly #campaign: string;
  readonly #mode: string;
  readonly #owner: string;
  readonly #settings: string;
  readonly #onError: (error: unknown) => void;
  #state: CampaignState | undefined;
  #since = Date.now();
  /** Rows the running attempt had written when last counted: its stats start from 0 at every attempt. */
  #counted = 0;
  /** Rows per minute (epoch ms of the minute's start) not yet written to the store. */
  readonly #pending = new Map<number, number>();

  constructor(
    store: StatusStore,
    { name, campaign, mode, owner, settings }: { name: string; campaign: string; mode: string; owner: string; settings: string },
    onError: (error: unknown) => void,
  ) {
    this.#store = store;
    this.#name = name;
    this.#campaign = campaign;
    this.#mode = mode;
    this.#owner = owner;
    this.#settings = settings;
    this.#onError = onError;
  }

  report = (state: CampaignState, lastError?: string): void => {
    if (state !== this.#state) this.#since = Date.now();
    if (state === "running") this.#counted = 0;
    this.#state = state;
    const record = {
      name: this.#name,
      campaign: this.#campaign,
      mode: this.#mode,
      owner: this.#owner,
      state,
      lastError: lastError ?? null,
      settings: this.#settings,
      since: this.#since,
      updatedAt: Date.now(),
    };
    this.#store.report(record).catch(this.#onError);
  };

  /** Counts the rows written since the last progress report of this attempt. */
  progress = (stats: SyncStats): void => {
    const total = Object.values(stats.rows).reduce((sum, rows) => sum + (rows ?? 0), 0);
    const added = total - this.#counted;
    if (added <= 0) return;
    this.#counted = total;
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    this.#pending.set(minute, (this.#pending.get(minute) ?? 0) + added);
  };

  /** Writes the rows counted so far; those that fail to be written are kept for the next time. */
  async flush(): Promise<void> {
    for (const [minute, rows] of [...this.#pending]) {
      this.#pending.delete(minute);
      try {
        await this.#store.addRows(this.#name, minute, rows);
      } catch (error) {
        this.#pending.set(minute, (this.#pending.get(minute) ?? 0) + rows);
        this.#onError(error);
        return;
      }
    }
  }
}
