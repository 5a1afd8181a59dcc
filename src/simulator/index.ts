// The Dialfire REST API simulator: a deterministic campaign model, the Hono app serving it, and
// (in serve.ts, Bun only) a runner with background activity.
export {
  Campaign,
  type CampaignOptions,
  createCampaign,
  type FieldElement,
  QueryError,
  type TickSummary,
  type TransactionRecord,
} from "./campaign.ts";
export { createSimulatorApp, type SimulatorApp, type SimulatorAppOptions } from "./app.ts";
export { type Endpoint, type Faults, noFaults, type Outcome, RequestStats } from "./faults.ts";
export { parseApiTimestamp } from "./time.ts";
