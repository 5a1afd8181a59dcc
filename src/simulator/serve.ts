// Runs the simulator as a real HTTP server on Bun, with background activity, for end-to-end tests
// and demos. The only file of the simulator that uses Bun APIs.
import { type Campaign, createCampaign } from "./campaign.ts";
import { createSimulatorApp } from "./app.ts";
import { type Faults, noFaults, RequestStats } from "./faults.ts";

export interface SimulatorOptions {
  /** 0 (default) = a free port chosen by the system. */
  port?: number;
  host?: string;
  campaignId?: string;
  token?: string;
  contacts?: number;
  seed?: number;
  /** How often `tick()` runs; 0 (default) = never on its own. */
  activityIntervalMs?: number;
  faults?: Partial<Faults>;
  /** Seeds the fault draws (default: derived from `seed`); another value gives another fault sequence. */
  faultSeed?: number;
  now?: () => Date;
}

export interface RunningSimulator {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  campaign: Campaign;
  /** Live: change rates while it runs. */
  faults: Faults;
  stats: RequestStats;
  stop(): Promise<void>;
  pauseActivity(): void;
  resumeActivity(): void;
}

export const DEFAULT_CAMPAIGN_ID = "SIMCAMPAIGN00001";
export const DEFAULT_TOKEN = "simulator-token-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123";

/** Bun's native MD5; the portable one takes seconds for 100 000 contacts. */
const nativeMd5 = (text: string): string => Bun.CryptoHasher.hash("md5", text, "hex") as string;

export function startSimulator(options: SimulatorOptions = {}): RunningSimulator {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const campaign = createCampaign({
    campaignId: options.campaignId ?? DEFAULT_CAMPAIGN_ID,
    contacts: options.contacts ?? 1000,
    seed: options.seed ?? 1,
    now: options.now,
    md5: nativeMd5,
  });
  const faults: Faults = { ...noFaults(), ...options.faults };
  const stats = new RequestStats();
  const app = createSimulatorApp(campaign, {
    token: options.token ?? DEFAULT_TOKEN,
    faults,
    stats,
    faultSeed: options.faultSeed ?? (options.seed ?? 1) ^ 0x5eed,
  });

  let server: ReturnType<typeof Bun.serve>;
  try {
    // idleTimeout 0: slow answers must be able to outlast Bun's default 10 s idle limit.
    server = Bun.serve({ hostname: host, port, fetch: app.fetch, idleTimeout: 0 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? "the port is already in use" : String(err);
    throw new Error(`Dialfire simulator cannot listen on ${host}:${port}: ${reason}`, { cause: err });
  }

  // Hash contacts and build indexes in small slices while idle, so first listings are fast too.
  let warming: ReturnType<typeof setTimeout> | undefined;
  const warm = () => {
    warming = campaign.warmUp() ? setTimeout(warm, 0) : undefined;
  };
  warming = setTimeout(warm, 0);

  let paused = false;
  const interval = options.activityIntervalMs ?? 0;
  const timer = interval > 0 ? setInterval(() => paused || campaign.tick(), interval) : undefined;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${server.port}`,
    campaign,
    faults,
    stats,
    async stop() {
      clearInterval(timer);
      clearTimeout(warming);
      await server.stop(true);
    },
    pauseActivity() {
      paused = true;
    },
    resumeActivity() {
      paused = false;
    },
  };
}
