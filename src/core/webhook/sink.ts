// Webhook mode's sink: each contact's transactions, filtered by --fm/--fp as in the SQL modes (the
// original ignored the filters here), become deliveries recorded in the outbox; the deliverer
// (delivery.ts) sends them from there.
import { canonicalJson } from "../sync/canonical-json.ts";
import { md5Hex } from "../common/md5.ts";
import type { DeliveryState, OutboxCandidate, OutboxScope, WebhookOutbox } from "./outbox.ts";
import { selectedTransactions, type TransactionFilter } from "../sync/rows.ts";
import type { CheckpointLimit, RowCounts, Sink } from "../sync/sink.ts";
import type { Contact } from "../sync/source.ts";

export interface WebhookSinkOptions {
  outbox: WebhookOutbox;
  scope: OutboxScope;
  /** The receiver's URL. */
  url: string;
  filter: TransactionFilter;
  /** Transactions fired before this were there before the user's start: never sent as `new`. */
  origin: Date;
  signed: boolean;
  /** Something was recorded: the deliverer has work. */
  onRecorded?: () => void;
}

/**
 * The deliveries a contact stands for: one per transaction, with the original's body (`contact`
 * without `$task_log`, `state`, the transaction as in the task log; keys sorted, numbers exact).
 */
export function webhookCandidates(contact: Contact, filter: TransactionFilter, origin: Date): OutboxCandidate[] {
  const contactJson = canonicalJson(contact, "$task_log");
  return selectedTransactions(contact, filter, { stableIds: true }).map(({ transactionId, transaction }) => {
    const transactionJson = canonicalJson(transaction);
    const fired = typeof transaction.fired === "string" ? transaction.fired : undefined;
    // A transaction without a readable time cannot be placed before the start: it is sent.
    const firedMs = fired === undefined ? Number.NaN : Date.parse(fired);
    return {
      contactId: contact.$id,
      transactionId,
      fired,
      hash: md5Hex(transactionJson),
      history: firedMs < origin.getTime(),
      body: (state: DeliveryState) => `{"contact":${contactJson},"state":"${state}","transaction":${transactionJson}}`,
    };
  });
}

export interface WebhookSink extends Sink {
  checkpointLimit(): Promise<CheckpointLimit>;
}

export function createWebhookSink(options: WebhookSinkOptions): WebhookSink {
  const { outbox, scope } = options;
  return {
    // A webhook has no tables, so no columns are ever added.
    prepare: async () => [],
    knownMd5: (ids) => outbox.knownContactMd5(scope, ids),
    async writeContacts(contacts: readonly Contact[], found: { floor?: string } = {}): Promise<RowCounts> {
      const candidates = contacts.flatMap((contact) => webhookCandidates(contact, options.filter, options.origin));
      const recorded = await outbox.enqueue(
        scope,
        candidates,
        contacts.map((contact) => ({ id: contact.$id, md5: contact.$md5 })),
        // The floor holds the checkpoint back until these are delivered or dead.
        { url: options.url, floor: found.floor, signed: options.signed },
      );
      const queued = recorded.new + recorded.updated;
      if (queued > 0) options.onRecorded?.();
      return { transactions: queued };
    },
    writeInboundCalls: async () => ({}),
    checkpointLimit: () => outbox.checkpointLimit(scope),
    close: async () => {},
  };
}
