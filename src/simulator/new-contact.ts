// A new contact of the campaign, with plausible standard and custom fields and a task log that holds
// its creation. Its values are chosen to trip up naive code: quotes, line breaks, unicode, empty text.
import type { Contact } from "../core/sync/source.ts";
import { AGENTS, type CampaignContext, LINE_NUMBER } from "./campaign-context.ts";
import { appendTransaction } from "./task-log.ts";
import { apiUpdateTransaction } from "./transactions.ts";
import { isoTime } from "./time.ts";

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
    $timezone: random.weighted([
      ["Europe/Berlin", 8],
      ["Europe/Vienna", 1],
      ["Europe/Zurich", 1],
    ]),
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
  const type = random.chance(0.3) ? "create" : "update";
  const data = { firstname: contact.firstname ?? null, lastname: contact.lastname ?? null };
  appendTransaction(contact, task, apiUpdateTransaction(contact, task, createdMs, 0, data, type));
  return contact;
}
