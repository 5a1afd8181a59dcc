// The transaction Dialfire logs for each thing that happens to a contact: a call by an agent or by
// the dialer, an assignment, a status change, a call still going on, or a change of its fields
// through the API. Where the format of a value is not known, it is a plausible guess.
import type { Contact, Transaction } from "../core/sync/source.ts";
import { type ActivityKind, AGENTS, type CampaignContext, OUTCOMES, type TaskDefinition } from "./campaign-context.ts";
import { callConnections, inProgressConnection, type OpenCall } from "./call-connections.ts";
import { isoTime } from "./time.ts";

/**
 * A change of contact fields through the API, shaped like the real API's sample records: no user,
 * the new values in `data`. A contact's creation is logged the same way, as a `create` or `update`.
 */
export function apiUpdateTransaction(
  contact: Contact,
  task: TaskDefinition,
  firedMs: number,
  sequenceNr: number,
  data: Record<string, unknown>,
  type: "create" | "update" = "update",
): Transaction {
  return {
    type,
    task_id: task.id,
    task: task.name,
    status: contact.$status || "open",
    status_detail: contact.$status_detail || "$none",
    fired: isoTime(firedMs),
    trigger: "other",
    id: contact.$id,
    ref: contact.$ref,
    phone: contact.$phone,
    timezone: contact.$timezone,
    created_date: contact.$created_date,
    entry_date: contact.$entry_date,
    data,
    sequence_nr: sequenceNr,
    version: contact.$version,
  };
}

/**
 * A transaction of the given kind, fired at `firedMs`; calls carry connections that happened just
 * before. `open` receives the connection of a call still in progress.
 */
export function activityTransaction(
  ctx: CampaignContext,
  contact: Contact,
  kind: ActivityKind,
  task: TaskDefinition,
  firedMs: number,
  sequenceNr: number,
  open?: (call: OpenCall) => void,
): Transaction {
  const { random } = ctx;
  const agent = random.pick(AGENTS);
  const base: Transaction = {
    type: "update",
    task_id: task.id,
    task: task.name,
    status: "open",
    status_detail: "$none",
    fired: isoTime(firedMs),
  };
  const human = {
    trigger: "user",
    user: agent.user,
    user_loginName: `${agent.user}@example.com`,
    user_branch: agent.branch,
    user_tenantAlias: "acme",
    actor: "user",
  };
  const system = { trigger: "other", actor: "system" };
  const times = (pause: number, edit: number, wrapup: number) => ({ pause_time_sec: pause, edit_time_sec: edit, wrapup_time_sec: wrapup });

  switch (kind) {
    case "agentCall":
    case "inboundCall": {
      const [status, detail] = random.weighted(OUTCOMES);
      const wrapup = random.int(2, 60);
      const calls = callConnections(ctx, contact, task, agent.user, firedMs - wrapup * 1000, true, kind === "inboundCall");
      return {
        ...base,
        status,
        status_detail: detail,
        ...human,
        result: status,
        isHI: true,
        revoked: false,
        ...times(random.int(0, 30), random.int(5, 120), wrapup),
        sequence_nr: sequenceNr,
        connections: calls,
      };
    }
    case "dialerCall": {
      const calls = callConnections(ctx, contact, task, undefined, firedMs - 1000, false, false);
      return {
        ...base,
        status_detail: "$unavailable",
        ...system,
        result: "failed",
        isHI: false,
        revoked: false,
        ...times(0, 0, 0),
        sequence_nr: sequenceNr,
        connections: calls,
      };
    }
    case "assignment":
      return {
        ...base,
        type: random.chance(0.5) ? "assign" : "update",
        status_detail: "$assigned",
        trigger: "other",
        user: agent.user,
        user_loginName: `${agent.user}@example.com`,
        user_branch: agent.branch,
        user_tenantAlias: "acme",
        actor: "system",
        isHI: false,
        revoked: false,
        ...times(0, 0, 0),
        sequence_nr: sequenceNr,
      };
    case "statusChange": {
      const detail = random.pick(["$revoked", "$skipped", "$do_not_call", "$duplicate"]);
      return {
        ...base,
        status: detail === "$skipped" ? "open" : "declined",
        status_detail: detail,
        ...system,
        isHI: false,
        revoked: detail === "$revoked",
        ...times(0, 0, 0),
        sequence_nr: sequenceNr,
      };
    }
    case "callInProgress": {
      const connection = inProgressConnection(ctx, contact, task, agent.user, firedMs);
      const transaction: Transaction = {
        ...base,
        ...human,
        isHI: true,
        revoked: false,
        ...times(random.int(0, 30), 0, 0),
        sequence_nr: sequenceNr,
        connections: [connection],
      };
      open?.({ transaction, connection });
      return transaction;
    }
  }
}
