// The phonecalls service: a call is created with the contact its destination number belongs to, once.
// The web route and `phonecalls push` (written straight into a database) both go through here, so a
// call is stored by the same sequence whichever way it arrives.
import { ContactReader } from "../sql/contact-reader.ts";
import type { Dialect } from "../sql/dialect.ts";
import { PhoneIndex, PhoneIndexBusyError, type PhoneIndexOptions, type PhoneMatch } from "./phone-index.ts";
import type { NewPhonecall } from "./phonecalls.ts";
import { PhonecallStore } from "./store.ts";

/** What became of a call to create. */
export type CreateOutcome =
  | { kind: "created"; id: number; contactId: string }
  | { kind: "already-stored"; id: number; contactId: string }
  /** The destination number is no contact's. */
  | { kind: "no-contact" }
  /** Several contacts have the number in the form it was sent: none is picked. */
  | { kind: "ambiguous" }
  /** The phone index is being built: worth trying again in a while. */
  | { kind: "busy"; reason: string };

/** Why a call was refused, as the service words it for its `destination` parameter. */
export const REFUSAL: Record<"no-contact" | "ambiguous", string> = {
  "no-contact": "no contact has this destination number",
  ambiguous: "several contacts have this number; send it in full, with its area code",
};

export class PhonecallService {
  constructor(
    readonly store: PhonecallStore,
    readonly index: PhoneIndex,
  ) {}

  /** A call already stored is found first: it is never looked up again, its contact stays. */
  async create(call: NewPhonecall): Promise<CreateOutcome> {
    const existing = await this.store.existing(call);
    if (existing.contactId !== undefined) return { kind: "already-stored", id: existing.id, contactId: existing.contactId };
    let match: PhoneMatch;
    try {
      match = await this.index.find(call.destination);
    } catch (error) {
      if (error instanceof PhoneIndexBusyError) return { kind: "busy", reason: error.message };
      throw error;
    }
    if (!match.contactId) return { kind: match.ambiguous ? "ambiguous" : "no-contact" };
    const stored = await this.store.create(call, match.contactId);
    return { kind: stored.created ? "created" : "already-stored", id: stored.id, contactId: stored.contactId };
  }

  /** Deletes the calls initiated on the days strictly between `from` and `to`; returns how many. */
  delete(from: string, to: string): Promise<number> {
    return this.store.delete(from, to);
  }
}

/** The service over the contacts the sync wrote with table prefix `prefix`, and the reader of them. */
export function openPhonecallService(
  dialect: Dialect,
  prefix: string,
  options: PhoneIndexOptions,
): { service: PhonecallService; contacts: ContactReader } {
  const contacts = new ContactReader(dialect, dialect.fitIdentifier(`${prefix}contacts`));
  const index = new PhoneIndex(dialect, contacts, prefix, options);
  return { service: new PhonecallService(new PhonecallStore(dialect, prefix), index), contacts };
}
