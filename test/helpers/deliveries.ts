// What a webhook receiver should have got from a simulated campaign, and where it differs.
import { canonicalJson } from "../../src/core/sync/canonical-json.ts";
import { selectedTransactions, type TransactionFilter } from "../../src/core/sync/rows.ts";
import type { Campaign } from "../../src/simulator/campaign.ts";
import type { ReceivedDelivery } from "./receiver.ts";

/** Transaction key (contact id + fired; the simulator keeps `fired` unique per contact) → final content. */
export function expectedTransactions(campaign: Campaign, since: Date, filter: TransactionFilter = {}): Map<string, string> {
  const expected = new Map<string, string>();
  for (const contact of campaign.contacts()) {
    for (const { transaction } of selectedTransactions(contact, filter)) {
      if (Date.parse(String(transaction.fired)) >= since.getTime()) {
        expected.set(`${contact.$id}|${transaction.fired}`, canonicalJson(transaction));
      }
    }
  }
  return expected;
}

/**
 * Everything wrong with what the receiver accepted, as lines (empty when right): de-duplicated by
 * `webhook-id`, the latest version of each expected transaction arrived last, nothing else arrived,
 * the first version of each transaction says `new` and every later one `updated`, one id never
 * carried two bodies, and every signature (when checked) held.
 */
export function deliveryProblems(expected: ReadonlyMap<string, string>, requests: readonly ReceivedDelivery[]): string[] {
  const problems: string[] = [];
  const bodies = new Map<string, string>();
  for (const request of requests) {
    const known = bodies.get(request.id);
    if (known !== undefined && known !== request.body) problems.push(`webhook-id ${request.id} came with two different bodies`);
    bodies.set(request.id, request.body);
    if (request.signatureValid === false) problems.push(`webhook-id ${request.id}: the signature does not verify`);
    if (request.contentType !== "application/json") problems.push(`webhook-id ${request.id}: content-type ${request.contentType}`);
  }
  // Distinct accepted deliveries per transaction, in order of first acceptance.
  const versions = new Map<string, ReceivedDelivery[]>();
  const seen = new Set<string>();
  for (const request of requests) {
    if (request.status < 200 || request.status >= 300 || seen.has(request.id)) continue;
    seen.add(request.id);
    const key = `${request.contactId}|${request.fired}`;
    versions.set(key, [...(versions.get(key) ?? []), request]);
  }
  for (const [key, content] of expected) {
    const list = versions.get(key);
    if (!list) problems.push(`missing: transaction ${key}`);
    else if (list.at(-1)?.transaction !== content) problems.push(`stale: the last version of ${key} received is not the campaign's`);
  }
  for (const [key, list] of versions) {
    if (!expected.has(key)) problems.push(`extra: transaction ${key} should not have been sent`);
    list.forEach((delivery, index) => {
      const want = index === 0 ? "new" : "updated";
      if (delivery.state !== want) problems.push(`state: version ${index + 1} of ${key} came as ${delivery.state}, expected ${want}`);
    });
  }
  return problems;
}

/**
 * Deliveries of one contact must go out one at a time: no two requests of a contact overlap (requests
 * the sender stopped waiting for, `hung`, aside).
 */
export function overlapProblems(requests: readonly ReceivedDelivery[]): string[] {
  const byContact = new Map<string, ReceivedDelivery[]>();
  for (const request of requests) {
    if (request.hung || request.answeredAt === 0) continue;
    byContact.set(request.contactId, [...(byContact.get(request.contactId) ?? []), request]);
  }
  const problems: string[] = [];
  for (const [contact, list] of byContact) {
    const sorted = [...list].sort((a, b) => a.receivedAt - b.receivedAt);
    for (let i = 1; i < sorted.length; i++) {
      const [before, after] = [sorted[i - 1] as ReceivedDelivery, sorted[i] as ReceivedDelivery];
      if (after.receivedAt < before.answeredAt) problems.push(`contact ${contact}: ${after.id} arrived while ${before.id} was still open`);
    }
  }
  return problems;
}

/** The first few problems, for a readable failure message. */
export function summarise(problems: readonly string[]): string {
  return problems.length === 0 ? "" : `${problems.length} problems:\n${problems.slice(0, 15).join("\n")}`;
}
