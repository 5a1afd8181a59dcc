// Calls to the campaign's line (the inbound calls listing): most callers are known contacts, some are
// not (empty `contact_id`); some calls are answered, others abandoned or never reach an agent.
import type { Contact, InboundCall } from "../core/sync/source.ts";
import { AGENTS, type CampaignContext, LINE_NUMBER, taskNamed } from "./campaign-context.ts";
import { isoTime, MINUTE_MS } from "./time.ts";

export function inboundCall(ctx: CampaignContext, callMs: number, contact: Contact | undefined): InboundCall {
  const { random } = ctx;
  const task = taskNamed(ctx, "inbound_service");
  const outcome = random.weighted([
    ["answered", 7],
    ["abandoned", 2],
    ["no_agent", 1],
  ] as const);
  const connectableMs = callMs + random.int(500, 4000);
  const connectMs = connectableMs + random.int(1000, 20000);
  const hangupMs = outcome === "answered" ? connectMs + random.int(20_000, 8 * MINUTE_MS) : connectableMs + random.int(2000, 40000);
  return {
    id: random.id(),
    line_id: "LN2K7Q9XT4PM8WRA",
    campaign_id: ctx.campaignId,
    task_id: task.id,
    task_name: task.name,
    contact_id: contact?.$id ?? "",
    calling_number: (contact?.$phone as string | undefined) ?? `+4989${random.digits(7)}`,
    called_number: LINE_NUMBER,
    call_time: isoTime(callMs),
    connect_time: outcome === "answered" ? isoTime(connectMs) : "",
    hangup_time: isoTime(hangupMs),
    user: outcome === "answered" ? random.pick(AGENTS).user : "",
    state: outcome === "answered" ? "connected" : "failed",
    connectable_time: isoTime(connectableMs),
    disposition: outcome,
    dispatch_error: outcome === "no_agent",
  };
}
