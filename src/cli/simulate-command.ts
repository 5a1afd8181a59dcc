// `dbsync simulate`: the built-in Dialfire API, for trying dbsync without an account and for tests.
import { defineCommand } from "citty";
import * as v from "valibot";
import { type RunningSimulator, startSimulator } from "../simulator/serve.ts";
import { decimal, LISTEN_HOST_SCHEMA, nonEmptyText, parseFlags, valueFlag } from "./flag-schemas.ts";
import { listenError } from "./listen-errors.ts";
import { onShutdown } from "./shutdown.ts";

const SIMULATE_FLAGS = {
  port: valueFlag("Port on 127.0.0.1 (default 4010; 0 picks a free one)", "n"),
  host: valueFlag("Address to listen on (default 127.0.0.1)", "ip"),
  campaign: valueFlag("Campaign ID (default DEMO_CAMPAIGN)", "id"),
  token: valueFlag("Sync Client token the API accepts (default demo-token)", "token"),
  contacts: valueFlag("Contacts to generate (default 1000)", "n"),
  seed: valueFlag("Seed of the generated campaign (default 1)", "n"),
  activity: valueFlag("Seconds between bursts of new activity (default 5; 0 = none)", "s"),
  "error-rate": valueFlag("Share of requests answered 500 (0..1)", "rate"),
  "rate-limit-rate": valueFlag("Share answered 429 with Retry-After (0..1)", "rate"),
  "slow-rate": valueFlag("Share answered slowly (0..1)", "rate"),
  "slow-ms": valueFlag("Delay of a slow answer in ms (default 2000)", "ms"),
  "malformed-rate": valueFlag("Share answered with broken JSON (0..1)", "rate"),
} as const;

const number = (flag: string, min: number, max: number, fallback: string) => v.optional(decimal(flag, "a number", min, max), fallback);

const SimulateSchema = v.object({
  port: number("port", 0, 65535, "4010"),
  host: LISTEN_HOST_SCHEMA,
  campaign: v.optional(nonEmptyText("campaign"), "DEMO_CAMPAIGN"),
  token: v.optional(nonEmptyText("token"), "demo-token"),
  contacts: number("contacts", 0, 5_000_000, "1000"),
  seed: number("seed", 0, 2 ** 32, "1"),
  activity: number("activity", 0, 86_400, "5"),
  "error-rate": number("error-rate", 0, 1, "0"),
  "rate-limit-rate": number("rate-limit-rate", 0, 1, "0"),
  "slow-rate": number("slow-rate", 0, 1, "0"),
  "slow-ms": number("slow-ms", 0, 600_000, "2000"),
  "malformed-rate": number("malformed-rate", 0, 1, "0"),
});

export const simulateCommand = defineCommand({
  meta: { name: "simulate", description: "Serve a generated Dialfire campaign on the Dialfire API paths" },
  args: SIMULATE_FLAGS,
  async run({ args }) {
    const flags = parseFlags(SimulateSchema, args);
    let simulator: RunningSimulator;
    try {
      simulator = startSimulator({
        port: flags.port,
        host: flags.host,
        campaignId: flags.campaign,
        token: flags.token,
        contacts: Math.floor(flags.contacts),
        seed: Math.floor(flags.seed),
        activityIntervalMs: flags.activity * 1000,
        faults: {
          errorRate: flags["error-rate"],
          rateLimitRate: flags["rate-limit-rate"],
          slowRate: flags["slow-rate"],
          slowMs: flags["slow-ms"],
          malformedRate: flags["malformed-rate"],
          retryAfterSeconds: 1,
        },
      });
    } catch (error) {
      throw listenError(flags.host, flags.port, (error as { cause?: unknown }).cause ?? error);
    }
    process.stdout.write(
      `Dialfire simulator on ${simulator.url} — campaign ${flags.campaign}, ${Math.floor(flags.contacts)} contacts\n` +
        `Try: dbsync --a db_init --c ${flags.campaign} --ct ${flags.token} --api-url ${simulator.url} --url file:demo.db\n`,
    );
    const signal = onShutdown();
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await simulator.stop();
  },
});
