// The connections of a call as Dialfire logs them on its transaction: the phone leg, now and then a
// transfer after it or a third-party leg inside it, the recordings; and a call still going on, which
// has no end until `completeCall` gives it one.
import type { Contact, Transaction } from "../core/sync/source.ts";
import { type CampaignContext, LINE_NUMBER, OUTCOMES, type TaskDefinition } from "./campaign-context.ts";
import { isoTime, MINUTE_MS } from "./time.ts";

/** One connection of a call that is still going on: it has no `disconnected` yet. */
export interface OpenCall {
  transaction: Transaction;
  connection: Record<string, unknown>;
}

/** The phone leg ending before `endMs`, plus now and then a transfer after it or a third-party leg inside it. */
export function callConnections(
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
export function inProgressConnection(ctx: CampaignContext, contact: Contact, task: TaskDefinition, user: string, firedMs: number) {
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
function phoneLeg(
  ctx: CampaignContext,
  contact: Contact,
  task: TaskDefinition,
  user: string | undefined,
  startMs: number,
  dialerdomain: string,
) {
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
  Object.assign(transaction, {
    status,
    status_detail: detail,
    result: status,
    edit_time_sec: random.int(5, 120),
    wrapup_time_sec: random.int(2, 60),
  });
}
