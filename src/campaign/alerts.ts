// When `dbsync run` tells someone about a campaign: once it has been failing for a while, once it has
// lagged too far for a while, and once when either is over. Decisions only, on an injected clock: the
// host feeds in what each campaign reports and its lag, and sends what `check` returns. Both ways a
// condition must hold for a while before it counts (a failure for `failingMs`, a lag for `forMs`, and
// a recovery for `forMs`), so that a campaign hovering at a threshold does not send a pair per poll.
import type { CampaignState } from "../core/state/status.ts";

export interface AlertSettings {
  /** The webhook: a Slack incoming webhook or any receiver of JSON. */
  url: string;
  /** Failing (backing off, retries failing too) this long gives an alert. */
  failingMs: number;
  /** A checkpoint further behind than this … */
  lagMs: number;
  /** … for this long gives an alert; and a condition gone for this long gives a recovery. */
  forMs: number;
}

export type AlertKind = "failing" | "lagging";

export interface AlertChange {
  /** The campaign's key (its lease's name). */
  name: string;
  /** The campaign as the console names it, without secrets. */
  label: string;
  kind: AlertKind;
  /** "unwatched": alerted here, and no longer run by this replica (its new owner judges it afresh). */
  change: "alert" | "recovered" | "unwatched";
  /** Epoch ms: when the condition began (an alert) or ended (a recovery). */
  since: number;
  /** The last failure in words, or how far behind it is, in ms. */
  lastError?: string;
  lagMs?: number;
}

interface Watch {
  /** As the host last named it. */
  label?: string;
  state?: CampaignState;
  lastError?: string;
  /** The first failure of the current run of failures. */
  failingFrom?: number;
  /** When it last stopped backing off; undefined while it backs off. */
  failingUntil?: number;
  failingAlerted: boolean;
  lagMs?: number;
  lagBeyondFrom?: number;
  lagWithinFrom?: number;
  lagAlerted: boolean;
}

export class AlertWatcher {
  readonly #clock: () => number;
  readonly #watches = new Map<string, Watch>();

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** What the campaign reports about itself: each attempt "running", each failure "backing_off". */
  report(name: string, state: CampaignState, lastError?: string): void {
    const watch = this.#watch(name);
    const now = this.#clock();
    if (state === "backing_off") {
      watch.failingFrom ??= now;
      watch.failingUntil = undefined;
      watch.lastError = lastError;
    } else if (watch.state === "backing_off") {
      watch.failingUntil = now;
    }
    watch.state = state;
  }

  /** How far behind its checkpoint is now; undefined when it has none or its lag means nothing (a finished db_init). */
  lag(name: string, lagMs: number | undefined): void {
    this.#watch(name).lagMs = lagMs;
  }

  /**
   * The changes worth a message, over the campaigns this replica runs now (`watched`: key → label).
   * A campaign no longer among them is forgotten: an alert open for it is closed here ("unwatched").
   */
  check(watched: ReadonlyMap<string, string>, settings: AlertSettings): AlertChange[] {
    const now = this.#clock();
    const changes: AlertChange[] = [];
    for (const [name, watch] of this.#watches) {
      if (watched.has(name)) continue;
      this.#watches.delete(name);
      const label = watch.label ?? name;
      if (watch.failingAlerted) changes.push({ name, label, kind: "failing", change: "unwatched", since: now });
      if (watch.lagAlerted) changes.push({ name, label, kind: "lagging", change: "unwatched", since: now });
    }
    for (const [name, label] of watched) {
      const watch = this.#watches.get(name);
      if (!watch) continue;
      watch.label = label;
      const failing = this.#failing(watch, now, settings);
      if (failing) changes.push({ name, label, ...failing });
      const lagging = this.#lagging(watch, now, settings);
      if (lagging) changes.push({ name, label, ...lagging });
    }
    return changes;
  }

  #failing(watch: Watch, now: number, settings: AlertSettings): Omit<AlertChange, "name" | "label"> | undefined {
    const from = watch.failingFrom;
    if (from === undefined) return undefined;
    const until = watch.failingUntil;
    // Over once it ran for a while without a failure (an attempt between two failures does not count),
    // or finished.
    if (until !== undefined && (watch.state === "finished" || now - until >= settings.forMs)) {
      const alerted = watch.failingAlerted;
      watch.failingFrom = undefined;
      watch.failingUntil = undefined;
      watch.failingAlerted = false;
      return alerted ? { kind: "failing", change: "recovered", since: until } : undefined;
    }
    // Counted to its last failure: a single failure long ago followed by a quiet run is no alert.
    if (watch.failingAlerted || (until ?? now) - from < settings.failingMs) return undefined;
    watch.failingAlerted = true;
    return { kind: "failing", change: "alert", since: from, lastError: watch.lastError };
  }

  #lagging(watch: Watch, now: number, settings: AlertSettings): Omit<AlertChange, "name" | "label"> | undefined {
    const lagMs = watch.lagMs;
    if (lagMs === undefined) return undefined;
    if (lagMs > settings.lagMs) {
      watch.lagWithinFrom = undefined;
      watch.lagBeyondFrom ??= now;
      if (watch.lagAlerted || now - watch.lagBeyondFrom < settings.forMs) return undefined;
      watch.lagAlerted = true;
      return { kind: "lagging", change: "alert", since: watch.lagBeyondFrom, lagMs };
    }
    watch.lagBeyondFrom = undefined;
    if (!watch.lagAlerted) return undefined;
    watch.lagWithinFrom ??= now;
    if (now - watch.lagWithinFrom < settings.forMs) return undefined;
    watch.lagAlerted = false;
    const since = watch.lagWithinFrom;
    watch.lagWithinFrom = undefined;
    return { kind: "lagging", change: "recovered", since, lagMs };
  }

  #watch(name: string): Watch {
    let watch = this.#watches.get(name);
    if (!watch) {
      watch = { failingAlerted: false, lagAlerted: false };
      this.#watches.set(name, watch);
    }
    return watch;
  }
}

/** At most this many campaigns are named in one message; the rest are counted. */
const LINES_PER_MESSAGE = 20;

/**
 * One message for all the changes of one check: many campaigns failing at once (a database down)
 * give one message listing them, not one each. Slack shows `text`; other receivers get the list too.
 */
export function alertMessage(changes: readonly AlertChange[], replica: string): { text: string; replica: string; alerts: object[] } {
  const lines = changes.slice(0, LINES_PER_MESSAGE).map(describeChange);
  if (changes.length > LINES_PER_MESSAGE) lines.push(`… and ${changes.length - LINES_PER_MESSAGE} more (see dbsync status)`);
  return {
    text: `dbsync run (replica ${replica}):\n${lines.join("\n")}`,
    replica,
    alerts: changes.map((change) => ({ ...change, since: new Date(change.since).toISOString() })),
  };
}

function describeChange(change: AlertChange): string {
  const at = clockTime(change.since);
  const behind = change.lagMs === undefined ? "" : `${minutesText(change.lagMs)} behind`;
  switch (`${change.kind} ${change.change}`) {
    case "failing alert":
      return `FAILING: ${change.label}: failing since ${at}: ${change.lastError ?? "(no message)"}`;
    case "failing recovered":
      return `RECOVERED: ${change.label}: running again since ${at}`;
    case "lagging alert":
      return `LAGGING: ${change.label}: ${behind} (too far behind since ${at})`;
    case "lagging recovered":
      return `CAUGHT UP: ${change.label}: ${behind} (since ${at})`;
    default:
      return `NO LONGER WATCHED HERE: ${change.label} (${change.kind}): another replica runs it now, or it left the file`;
  }
}

function clockTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function minutesText(ms: number): string {
  const minutes = ms / 60_000;
  return minutes < 1 ? `${Math.round(ms / 1000)} s` : `${Math.round(minutes)} min`;
}
