// The fixed cast of a simulated campaign (its tasks, agents, call outcomes and phone line) and the
// weighted draws that decide what happens next. Every builder of contacts and calls gets this
// context, so that all their random choices come from the campaign's one seeded generator.
import type { CustomField } from "./fields.ts";
import type { Random } from "./random.ts";

export interface TaskDefinition {
  name: string;
  id: string;
  title: string;
  type: string;
}

export interface CampaignContext {
  campaignId: string;
  random: Random;
  tasks: TaskDefinition[];
  customFields: CustomField[];
}

export type ActivityKind = "agentCall" | "dialerCall" | "assignment" | "statusChange" | "inboundCall" | "callInProgress";

const TASK_LIST: Omit<TaskDefinition, "id">[] = [
  { name: "fc_first_call", title: "First call", type: "OutboundTask" },
  { name: "fc_second_call", title: "Second call", type: "OutboundTask" },
  { name: "qc_quality_check", title: "Quality check", type: "OutboundTask" },
  { name: "call_back", title: "Call back", type: "OutboundTask" },
  { name: "inbound_service", title: "Inbound service", type: "InboundTask" },
];

export const AGENTS = [
  { user: "agent.smith", branch: "berlin" },
  { user: "anna.schmidt", branch: "hamburg" },
  { user: "jürgen.müller", branch: "münchen" },
  { user: "o'brien", branch: "berlin" },
  { user: "li.wei", branch: "hamburg" },
];

/** The status and status detail an agent books after a call, with their weights. */
export const OUTCOMES: readonly (readonly [readonly [string, string], number])[] = [
  [["success", "sale"], 3],
  [["declined", "no_interest"], 3],
  [["open", "call_back_later"], 3],
  [["failed", "$wrong_number"], 1],
  [["declined", "$do_not_call"], 1],
];

/** The campaign's own phone number: the caller id of outbound calls, the number inbound callers dial. */
export const LINE_NUMBER = "+4930555000";

export function createTasks(random: Random): TaskDefinition[] {
  return TASK_LIST.map((task) => ({ ...task, id: random.id() }));
}

export function taskNamed(ctx: CampaignContext, name: string): TaskDefinition {
  const task = ctx.tasks.find((t) => t.name === name);
  if (!task) throw new Error(`the simulated campaign has no task named ${name}`);
  return task;
}

export function pickActivity(random: Random): ActivityKind {
  return random.weighted<ActivityKind>([
    ["agentCall", 45],
    ["dialerCall", 20],
    ["assignment", 15],
    ["statusChange", 8],
    ["inboundCall", 10],
    ["callInProgress", 2],
  ]);
}

export function pickTask(ctx: CampaignContext, kind: ActivityKind): TaskDefinition {
  if (kind === "inboundCall") return taskNamed(ctx, "inbound_service");
  return taskNamed(
    ctx,
    ctx.random.weighted([
      ["fc_first_call", 5],
      ["fc_second_call", 3],
      ["qc_quality_check", 2],
      ["call_back", 2],
    ]),
  );
}
