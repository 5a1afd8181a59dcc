// The alerts of one `dbsync run` process: what its campaigns report, and how far behind their
// checkpoints are, judged after every round of the leases and sent in the background. Only the
// campaigns whose leases this replica holds are watched: with several replicas each campaign has one
// owner at a time, so one voice. A campaign that no replica runs is not alerted on: a live replica of
// the same file takes a free lease within a lease time, so one stays free only when no replica of the
// file is alive, and then no process is left to send anything (watch that from outside).
import type { StateStore } from "../core/state/state.ts";
import type { CampaignState } from "../core/state/status.ts";
import { type AlertSettings, AlertWatcher, alertMessage } from "./alerts.ts";
import { AlertSender } from "./alerts-sender.ts";
import { checkpointOf } from "./fleet-status.ts";
import type { CampaignSettings } from "./settings.ts";

export interface WatchedCampaign {
  key: string;
  /** How the messages name it, without secrets. */
  label: string;
  settings: CampaignSettings;
}

export interface DaemonAlertsOptions {
  state: StateStore;
  replica: string;
  /** Read at every check: a changed file changes them without a restart; none, no messages. */
  settings: () => AlertSettings | undefined;
  /** Hides the secrets the process knows (a token, a password) in what a message quotes of an error. */
  mask?: (text: string) => string;
  /** One line about a message that could not be sent. */
  warn: (line: string) => void;
  clock?: () => number;
  sender?: AlertSender;
}

/** The longest a stopping process waits for its last alerts to go out. */
const CLOSE_WAIT_MS = 5000;

export class DaemonAlerts {
  readonly #options: DaemonAlertsOptions;
  readonly #clock: () => number;
  readonly #watcher: AlertWatcher;
  readonly #sender: AlertSender;

  constructor(options: DaemonAlertsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#watcher = new AlertWatcher(this.#clock);
    this.#sender = options.sender ?? new AlertSender({ warn: options.warn });
  }

  /** What a campaign reports about itself (StatusReporter's states). */
  report = (name: string, state: CampaignState, lastError?: string): void => {
    this.#watcher.report(name, state, lastError);
  };

  /** After a round: the campaigns this replica runs now. Never throws, never waits for a message to go out. */
  async check(campaigns: readonly WatchedCampaign[]): Promise<void> {
    const settings = this.#options.settings();
    if (!settings) return;
    await this.#readLags(campaigns);
    this.#send(settings, new Map(campaigns.map((campaign) => [campaign.key, campaign.label])));
  }

  /** The process stops: alerts still open are closed ("no longer watched here") and sent, within a few seconds. */
  async close(): Promise<void> {
    const settings = this.#options.settings();
    if (!settings) return;
    this.#send(settings, new Map());
    await this.#sender.idle(CLOSE_WAIT_MS);
  }

  #send(settings: AlertSettings, watched: ReadonlyMap<string, string>): void {
    const mask = this.#options.mask ?? ((text: string) => text);
    const changes = this.#watcher
      .check(watched, settings)
      .map((change) => ({ ...change, label: mask(change.label), lastError: change.lastError && mask(change.lastError) }));
    if (changes.length > 0) this.#sender.send(settings.url, alertMessage(changes, this.#options.replica));
  }

  /**
   * Lags of the campaigns that follow their campaign for ever (db_sync, webhook): a finished db_init's
   * checkpoint stays where it ended. A store that does not answer leaves the lags as last read (the
   * rounds say that it does not).
   */
  async #readLags(campaigns: readonly WatchedCampaign[]): Promise<void> {
    const following = campaigns.filter(({ settings }) => settings.mode === "db_sync" || settings.mode === "webhook");
    if (following.length === 0) return;
    const checkpoints = await this.#options.state.listCheckpoints().catch(() => undefined);
    if (!checkpoints) return;
    const now = this.#clock();
    for (const { key, settings } of following) {
      const checkpoint = checkpointOf(settings, checkpoints);
      this.#watcher.lag(key, checkpoint ? Math.max(0, now - Date.parse(checkpoint.value)) : undefined);
    }
  }
}
