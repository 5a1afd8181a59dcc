// `dbsync simulate`: the built-in Dialfire API, for trying dbsync without an account and for tests.
import { defineCommand } from "citty";
import * as v from "valibot";
import { type RunningSimulator, startSimulator } from "../simulator/serve.ts";
import { UsageError } from "./argv.ts";
import { decimal } from "./flag-schemas.ts";
import { listenError } from "./listen-errors.ts";
import { onShutdown } from "./shutdown.ts";

const SIMULATE_FLAGS = {
  port: { type: "string", description: "Port on 127.0.0.1 (default 4010; 0 picks a free one)", valueHint: "n" },
  host: { type: "string", description: "Address to listen on (default 127.0.0.1)", valueHint: "ip" },
  campaign: { type: "string", description: "Campaign ID (default DEMO_CAMPAIGN)", valueHint: "id" },
  token: { type: "string", description: "Sync Client token the API accepts (default demo-token)", valueHint: "token" },
  contacts: { type: "string", description: "Contacts to generate (default 1000)", valueHint: "n" },
  seed: { type: "string", description: "Seed of the generated campaign (default 1)", valueHint: "n" },
  activity: { type: "string", description: "Seconds between bursts of new activity (default 5; 0 = none)", valueHint: "s" },
  "error-rate": { type: "string", description: "Share of requests answered 500 (0..1)", valueHint: "rate" },
  "rate-limit-rate": { type: "string", description: "Share answered 429 with Retry-After (0..1)", valueHint: "rate" },
  "slow-rate": { type: "string", description: "Share answered slowly (0..1)", valueHint: "rate" },
  "slow-ms": { type: "string", description: "Delay of a slow answer in ms (default 2000)", valueHint: "ms" },
  "malformed-rate": { type: "string", description: "Share answered with broken JSON (0..1)", valueHint: "rate" },
} as const;

const number = (flag: string, min: number, max: number, fallback: string) =>
  v.optional(decimal(flag, "a number", min, max), fallback);

const SimulateSchema = v.object({
  port: number("port", 0, 65535, "4010"),
  host: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "--host must not be empty")), "127.0.0.1"),
  campaign: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "--campaign must not be empty")), "DEMO_CAMPAIGN"),
  token: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, "--token must not be empty")), "demo-token"),
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
    const parsed = v.safeParse(SimulateSchema, args);
    if (!parsed.success) throw new UsageError(parsed.issues[0]?.message ?? "invalid flags");
    const o = parsed.output;
    let simulator: RunningSimulator;
    try {
      simulator = startSimulator({
        port: o.port,
        host: o.host,
        campaignId: o.campaign,
        token: o.token,
        contacts: Math.floor(o.contacts),
        seed: Math.floor(o.seed),
        activityIntervalMs: o.activity * 1000,
        faults: {
          errorRate: o["error-rate"],
          rateLimitRate: o["rate-limit-rate"],
          slowRate: o["slow-rate"],
          slowMs: o["slow-ms"],
          malformedRate: o["malformed-rate"],
          retryAfterSeconds: 1,
        },
      });
    } catch (error) {
      throw listenError(o.host, o.port, (error as { cause?: unknown }).cause ?? error);
    }
    process.stdout.write(
      `Dialfire simulator on ${simulator.url} — campaign ${o.campaign}, ${Math.floor(o.contacts)} contacts\n` +
        `Try: dbsync --a db_init --c ${o.campaign} --ct ${o.token} --api-url ${simulator.url} --url file:demo.db\n`,
    );
    const signal = onShutdown();
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await simulator.stop();
  },
});
