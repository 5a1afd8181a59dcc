// A contact's task log (one entry per task, each with its transactions) and the summary fields that
// Dialfire derives from it: `$task`, `$status`, `$$<task>_*`, the follow-up date and the recording.
import type { Contact, TaskLogEntry, Transaction } from "../core/sync/source.ts";
import type { TaskDefinition } from "./campaign-context.ts";

/** Adds the transaction under its task's log entry (a new entry for a task not seen before). */
export function appendTransaction(contact: Contact, task: TaskDefinition, transaction: Transaction): [number, number] {
  contact.$task_log ??= [];
  const log = contact.$task_log;
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
  const entry = log[taskLogIndex];
  entry.transactions ??= [];
  const transactions = entry.transactions;
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
