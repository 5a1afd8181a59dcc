// Builders for what happens to a contact: creation, calls (with connections, transfers, third-party
// legs and recordings), assignments and status changes, plus inbound calls. Shapes follow spec
// §7.2–§7.6; value formats the spec marks [I] are plausible guesses.
import type { Contact, InboundCall, TaskLogEntry, Transaction } from "../core/sync/source.ts";
import type { CustomField } from "./fields.ts";
import type { Random } from "./random.ts";
import { isoTime, MINUTE_MS } from "./time.ts";

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

/** One connection of a call that is still going on: it has no `disconnected` yet. */
export interface OpenCall {
  transaction: Transaction;
  connection: Record<string, unknown>;
}

const TASK_LIST: Omit<TaskDefinition, "id">[] = [
  { name: "fc_first_call", title: "First call", type: "OutboundTask" },
  { name: "fc_second_call", title: "Second call", type: "OutboundTask" },
  { name: "qc_quality_check", title: "Quality check", type: "OutboundTask" },
  { name: "call_back", title: "Call back", type: "OutboundTask" },
  { name: "inbound_service", title: "Inbound service", type: "InboundTask" },
];

const AGENTS = [
  { user: "agent.smith", branch: "berlin" },
  { user: "anna.schmidt", branch: "hamburg" },
  { user: "jürgen.müller", branch: "münchen" },
  { user: "o'brien", branch: "berlin" },
  { user: "li.wei", branch: "hamburg" },
];

const OUTCOMES: readonly (readonly [readonly [string, string], number])[] = [
  [["success", "sale"], 3],
  [["declined", "no_interest"], 3],
  [["open", "call_back_later"], 3],
  [["failed", "$wrong_number"], 1],
  [["declined", "$do_not_call"], 1],
];

const LINE_NUMBER = "+4930555000";

export function createTasks(random: Random): TaskDefinition[] {
  return TASK_LIST.map((task) => ({ ...task, id: random.id() }));
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
  const byName = (name: string) => ctx.tasks.find((t) => t.name === name)!;
  if (kind === "inboundCall") return byName("inbound_service");
  return byName(ctx.random.weighted([["fc_first_call", 5], ["fc_second_call", 3], ["qc_quality_check", 2], ["call_back", 2]]));
}

/** A new contact whose task log holds its creation transaction. */
export function newContact(ctx: CampaignContext, createdMs: number): Contact {
  const { random } = ctx;
  const id = random.id();
  const created = isoTime(createdMs);
  const phone = `+4930${random.digits(random.int(6, 8))}`;
  const contact: Contact = {
    $id: id,
    $md5: "",
    $ref: random.chance(0.8) ? `CRM-${random.digits(6)}` : "",
    $version: random.id(),
    $campaign_id: ctx.campaignId,
    $task_id: "",
    $task: "",
    $status: "",
    $status_detail: "",
    $phone: phone,
    $timezone: random.weighted([["Europe/Berlin", 8], ["Europe/Vienna", 1], ["Europe/Zurich", 1]]),
    $caller_id: random.chance(0.3) ? LINE_NUMBER : "",
    $created_date: created,
    $entry_date: created,
    $follow_up_date: "",
    $call_order: "",
    $source: random.pick(["", "import_2024.csv", "api", "web form"]),
    $comment: random.pick(["", "", "VIP – handle with care", 'Customer said: "don\'t call on Fridays"', "Mehrzeilig\nzweite Zeile"]),
    $error: "",
    $trigger: "other",
    $owner: random.chance(0.2) ? random.pick(AGENTS).user : "",
    $recording: "",
    $recording_url: "",
  };
  for (const field of ctx.customFields) {
    const value = field.value(random);
    if (value !== undefined) contact[field.element.name] = value;
  }
  contact.$task_log = [];
  const task = ctx.tasks[random.chance(0.85) ? 0 : 3];
  const creation: Transaction = {
    type: random.chance(0.3) ? "create" : "update",
    task_id: task.id,
    task: task.name,
    status: "open",
    status_detail: "$none",
    fired: created,
    trigger: "other",
    id,
    ref: contact.$ref,
    phone,
    timezone: contact.$timezone,
    created_date: created,
    entry_date: created,
    data: { firstname: contact.firstname ?? null, lastname: contact.lastname ?? null },
    sequence_nr: 0,
    version: contact.$version,
  };
  appendTransaction(contact, task, creation);
  return contact;
}

/** A change of contact fields through the API (shape of the greenpeace sample, spec §7.3): no user, new values in `data`. */
export function apiUpdateTransaction(contact: Contact, task: TaskDefinition, firedMs: number, sequenceNr: number, data: Record<string, unknown>): Transaction {
  return {
    type: "update",
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

/** Adds the transaction under its task's log entry (a new entry for a task not seen before). */
export function appendTransaction(contact: Contact, task: TaskDefinition, transaction: Transaction): [number, number] {
  const log = (contact.$task_log ??= []);
  let taskLogIndex = log.findIndex((entry) => entry.task_name === task.name);
  if (taskLogIndex < 0) {
    taskLogIndex = log.length;
    log.push({
      campaign_id: contact.$campaign_id,
      task_id: task.id,
      task_name: task.name,
      task_title: task.title,
      task_type: task.type,
      task_hi: true,
      status: "",
      status_detail: "",
      fired: "",
      transactions: [],
    });
  }
  const transactions = (log[taskLogIndex].transactions ??= []);
  transactions.push(transaction);
  return [taskLogIndex, transactions.length - 1];
}

/** Re-derives the contact's summary fields (`$task`, `$status`, `$$<task>_*`, …) from its task log. */
export function refreshSummary(contact: Contact): void {
  let latest: Transaction | undefined;
  for (const entry of contact.$task_log ?? []) {
    const last = lastByFired(entry);
    if (!last) continue;
    entry.status = last.status;
    entry.status_detail = last.status_detail;
    entry.fired = last.fired;
    const task = entry.task_name as string;
    contact[`$$${task}_task`] = task;
    contact[`$$${task}_date`] = last.fired;
    contact[`$$${task}_status`] = last.status;
    contact[`$$${task}_status_detail`] = last.status_detail;
    if (!latest || String(last.fired) > String(latest.fired)) latest = last;
  }
  if (!latest) return;
  contact.$task = latest.task;
  contact.$task_id = latest.task_id;
  contact.$status = latest.status;
  contact.$status_detail = latest.status_detail;
  contact.$trigger = latest.trigger;
  contact.$follow_up_date = latest.task === "call_back" && latest.status === "open" ? (latest.fired ?? "") : "";
  const recording = findLastRecording(latest);
  if (recording?.location) {
    contact.$recording = recording.filename;
    contact.$recording_url = `https://recordings.example.com/${recording.location}`;
  }
}

function lastByFired(entry: TaskLogEntry): Transaction | undefined {
  let last: Transaction | undefined;
  for (const t of entry.transactions ?? []) if (!last || String(t.fired) > String(last.fired)) last = t;
  return last;
}

function findLastRecording(transaction: Transaction): Record<string, string> | undefined {
  const connections = (transaction.connections ?? []) as Record<string, unknown>[];
  for (let i = connections.length - 1; i >= 0; i--) {
    const recordings = (connections[i].recordings ?? []) as Record<string, string>[];
    if (recordings.length > 0) return recordings[recordings.length - 1];
  }
  return undefined;
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
  const base: Transaction = { type: "update", task_id: task.id, task: task.name, status: "open", status_detail: "$none", fired: isoTime(firedMs) };
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
        ...base, status, status_detail: detail, ...human, result: status, isHI: true, revoked: false,
        ...times(random.int(0, 30), random.int(5, 120), wrapup), sequence_nr: sequenceNr, connections: calls,
      };
    }
    case "dialerCall": {
      const calls = callConnections(ctx, contact, task, undefined, firedMs - 1000, false, false);
      return {
        ...base, status_detail: "$unavailable", ...system, result: "failed", isHI: false, revoked: false,
        ...times(0, 0, 0), sequence_nr: sequenceNr, connections: calls,
      };
    }
    case "assignment":
      return {
        ...base, type: random.chance(0.5) ? "assign" : "update", status_detail: "$assigned", trigger: "other",
        user: agent.user, user_loginName: `${agent.user}@example.com`, user_branch: agent.branch, user_tenantAlias: "acme",
        actor: "system", isHI: false, revoked: false, ...times(0, 0, 0), sequence_nr: sequenceNr,
      };
    case "statusChange": {
      const detail = random.pick(["$revoked", "$skipped", "$do_not_call", "$duplicate"]);
      return {
        ...base, status: detail === "$skipped" ? "open" : "declined", status_detail: detail, ...system,
        isHI: false, revoked: detail === "$revoked", ...times(0, 0, 0), sequence_nr: sequenceNr,
      };
    }
    case "callInProgress": {
      const connection = inProgressConnection(ctx, contact, task, agent.user, firedMs);
      const transaction: Transaction = {
        ...base, ...human, isHI: true, revoked: false, ...times(random.int(0, 30), 0, 0), sequence_nr: sequenceNr,
        connections: [connection],
      };
      open?.({ transaction, connection });
      return transaction;
    }
  }
}

/** The phone leg ending before `endMs`, plus now and then a transfer after it or a third-party leg inside it. */
function callConnections(
  ctx: CampaignContext,
  contact: Contact,
  task: TaskDefinition,
  user: string | undefined,
  endMs: number,
  mayAnswer: boolean,
  inbound: boolean,
): Record<string, unknown>[] {
  const { random } = ctx;
  const answered = mayAnswer && random.chance(inbound ? 0.95 : 0.75);
  const ringMs = random.int(2000, 25000);
  const talkMs = answered ? random.int(15_000, 10 * MINUTE_MS) : 0;
  const transfer = answered && random.chance(0.08);
  const transferMs = transfer ? random.int(20_000, 5 * MINUTE_MS) : 0;
  const startMs = endMs - ringMs - talkMs - transferMs - random.int(100, 2000);
  const connectedMs = startMs + ringMs;
  const disconnectedMs = connectedMs + talkMs;
  const phone: Record<string, unknown> = {
    ...phoneLeg(ctx, contact, task, user, startMs, random.pick(["dialer-eu-1", "dialer-eu-2"])),
    ...(answered ? { connected: isoTime(connectedMs) } : {}),
    disconnected: isoTime(answered ? disconnectedMs : connectedMs),
    ended: isoTime((answered ? disconnectedMs : connectedMs) + 50),
    ...(answered ? { call_connected: isoTime(connectedMs) } : {}),
    call_disconnected: isoTime(answered ? disconnectedMs : connectedMs),
    duration: Math.round(talkMs / 1000),
    result: answered ? "connected" : random.pick(["no_answer", "busy"]),
    code: answered ? 200 : random.pick([480, 486]),
    hangup_party: random.pick(["remote", "local"]),
  };
  if (answered && random.chance(0.7)) {
    phone.recordings = [recording(ctx, contact, connectedMs + 100, disconnectedMs - 100, random.chance(0.97))];
  }
  if (answered && talkMs > 60_000 && random.chance(0.1)) {
    const tpStart = connectedMs + random.int(5_000, 30_000);
    const tpEnd = Math.min(disconnectedMs - 1000, tpStart + random.int(10_000, 60_000));
    phone.third_party_connections = [
      {
        id: random.id(),
        technology: "phone",
        remote_number: `+4930${random.digits(7)}`,
        started: isoTime(tpStart),
        connected: isoTime(tpStart + 4000),
        disconnected: isoTime(tpEnd),
        duration: Math.max(0, Math.round((tpEnd - tpStart - 4000) / 1000)),
        isThirdPartyConnection: true,
      },
    ];
  }
  if (!transfer) return [phone];
  const transferConnected = disconnectedMs + random.int(1000, 5000);
  return [
    phone,
    {
      id: random.id(),
      technology: "transfer",
      transfer_target_address: `+4930${random.digits(6)}`,
      started: isoTime(disconnectedMs),
      connected: isoTime(transferConnected),
      disconnected: isoTime(disconnectedMs + transferMs),
      duration: Math.round((disconnectedMs + transferMs - transferConnected) / 1000),
      result: "connected",
      code: 200,
    },
  ];
}

function recording(ctx: CampaignContext, contact: Contact, startMs: number, stopMs: number | undefined, uploaded: boolean) {
  const filename = `${contact.$id}_${isoTime(startMs).replace(/[-:T]/g, "").slice(0, 14)}.mp3`;
  return {
    started: isoTime(startMs),
    ...(stopMs !== undefined ? { stopped: isoTime(stopMs) } : {}),
    filename,
    ...(uploaded ? { location: `recordings/${ctx.campaignId}/${filename}` } : {}),
  };
}

/** A connected call with no end yet; its recording has `started` but no `location`. */
function inProgressConnection(ctx: CampaignContext, contact: Contact, task: TaskDefinition, user: string, firedMs: number) {
  const { random } = ctx;
  const connectedMs = firedMs - random.int(1000, 3000);
  const startMs = connectedMs - random.int(2000, 20000);
  return {
    ...phoneLeg(ctx, contact, task, user, startMs, "dialer-eu-1"),
    connected: isoTime(connectedMs),
    call_connected: isoTime(connectedMs),
    recordings: [recording(ctx, contact, connectedMs + 100, undefined, false)],
  } as Record<string, unknown>;
}

/** What every phone leg of a contact's call carries from its start on. */
function phoneLeg(ctx: CampaignContext, contact: Contact, task: TaskDefinition, user: string | undefined, startMs: number, dialerdomain: string) {
  const uuid = ctx.random.uuid();
  return {
    id: ctx.random.id(),
    call_uuid: uuid,
    global_call_uuid: `g-${uuid}`,
    technology: "phone",
    task_id: task.id,
    phone: contact.$phone,
    remote_number: contact.$phone,
    line_number: LINE_NUMBER,
    ...(user ? { user } : {}),
    actor: user ? "user" : "system",
    dialerdomain,
    fired: isoTime(startMs),
    initiated: isoTime(startMs),
    started: isoTime(startMs + 8),
    call_initiated: isoTime(startMs),
    isThirdPartyConnection: false,
  };
}

/** Ends a call in progress at `endMs`: the transaction changes but keeps its `fired`. */
export function completeCall(ctx: CampaignContext, call: OpenCall, contactId: string, endMs: number): void {
  const { random } = ctx;
  const { connection, transaction } = call;
  const connectedMs = Date.parse(String(connection.connected));
  const disconnectedMs = Math.max(endMs - random.int(0, 3000), connectedMs + 1000);
  Object.assign(connection, {
    disconnected: isoTime(disconnectedMs),
    ended: isoTime(disconnectedMs + 50),
    call_disconnected: isoTime(disconnectedMs),
    duration: Math.round((disconnectedMs - connectedMs) / 1000),
    result: "connected",
    code: 200,
    hangup_party: random.pick(["remote", "local"]),
  });
  for (const rec of (connection.recordings ?? []) as Record<string, unknown>[]) {
    rec.stopped = isoTime(disconnectedMs - 100);
    rec.location = `recordings/${ctx.campaignId}/${rec.filename ?? contactId}`;
  }
  const [status, detail] = random.weighted(OUTCOMES);
  Object.assign(transaction, { status, status_detail: detail, result: status, edit_time_sec: random.int(5, 120), wrapup_time_sec: random.int(2, 60) });
}

/** An inbound call (E5); most callers are known contacts, some are not (empty `contact_id`). */
export function inboundCall(ctx: CampaignContext, callMs: number, contact: Contact | undefined): InboundCall {
  const { random } = ctx;
  const task = ctx.tasks.find((t) => t.name === "inbound_service")!;
  const outcome = random.weighted([["answered", 7], ["abandoned", 2], ["no_agent", 1]] as const);
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
