// Talkdesk's contact synchronization: initial sync, its next pages, incremental sync
// since a checkpoint, and its next pages. The checkpoint is the position of the last contact sent
// in the order (`$changed`, `$id`), which is strictly increasing, so no contact is skipped even when
// thousands share one change time. A sync only reaches up to a cutoff a little in the past: a
// contact written meanwhile, with a `$changed` stamped before its transaction committed, is not
// passed over by a checkpoint that was already beyond it.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import * as v from "valibot";
import { type ContactMapping, mappedColumns, TalkdeskContactSchema, toTalkdeskContact } from "./contact-mapping.ts";
import type { ContactPosition, ContactReader } from "../sql/contact-reader.ts";
import { parseDateTime } from "../common/date-time.ts";
import { textFault } from "../common/text-checks.ts";

const text = (what: string) => v.pipe(v.string(`must be ${what}`), v.maxLength(2000, "is longer than 2,000 characters"));

/**
 * Talkdesk's credentials as the bridge compares them. Text that UTF-8 cannot carry as it is (an
 * unpaired surrogate becomes U+FFFD) would match another password, so it never matches at all.
 */
export const CredentialsSchema = v.object({
  username: v.pipe(
    v.string(),
    v.check((value) => textFault("username", value) === undefined),
  ),
  password: v.pipe(
    v.string(),
    v.check((value) => textFault("password", value) === undefined),
  ),
});

const OFFSET = "the next_offset of the previous page, passed back as it came";

export const ContactSyncRequestSchema = v.object(
  {
    auth: v.pipe(
      v.record(v.string(), v.unknown(), "is required: an object with the username and password"),
      v.description("Talkdesk's credentials: username and password"),
    ),
    meta: v.optional(
      v.object(
        {
          synchronization_checkpoint: v.optional(v.nullable(text("text: the synchronization_checkpoint this bridge returned"))),
          offset: v.optional(v.nullable(v.union([text(OFFSET), v.pipe(v.number(), v.transform(String))], `must be ${OFFSET}`))),
          context: v.optional(v.unknown()),
        },
        "must be an object (synchronization_checkpoint, offset, context)",
      ),
      {},
    ),
  },
  "the body must be a JSON object with auth and meta",
);
export type ContactSyncRequest = v.InferOutput<typeof ContactSyncRequestSchema>;

/** One page: the contacts, where the next sync starts, and while more pages follow, the way there. */
export const ContactSyncResponseSchema = v.object({
  contacts: v.array(TalkdeskContactSchema),
  synchronization_checkpoint: v.string(),
  next_offset: v.optional(v.string()),
  context: v.optional(v.unknown()),
});
export type ContactSyncResponse = v.InferOutput<typeof ContactSyncResponseSchema>;

/** A checkpoint or offset this bridge did not hand out, or that is damaged. */
export class TalkdeskRequestError extends Error {
  override name = "TalkdeskRequestError";
}

export interface ContactSyncOptions {
  mapping: ContactMapping;
  pageSize: number;
  /** How far behind now a sync stops: longer than any write of the sync takes to commit. */
  settleMs: number;
  now?: () => Date;
}

/** `$changed` as the sync writes it: UTC, to the second. */
function changedStamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `<changed>/<id>`: readable, and the id may contain anything (it follows the first slash). */
export function encodeCheckpoint(position: ContactPosition): string {
  return `${position.changed}/${position.id}`;
}

/** A `$changed` stamp of a real second (`2026-11-22T10:00:00Z`): the form of our positions and cutoffs. */
function isStamp(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text)) return false;
  const time = Date.parse(text);
  return !Number.isNaN(time) && changedStamp(new Date(time)) === text;
}

const CHECKPOINT_FORMS = 'expected the "<time>/<contact id>" this bridge returns, or a date and time such as "2012-11-20 23:01:00 UTC"';

/**
 * A checkpoint of ours, or (tolerantly) a plain date and time as other bridges set it, such as the
 * example "2012-11-20 23:01:00 UTC" of Talkdesk's documentation: then every contact changed after that second comes. Nothing else:
 * a checkpoint this bridge cannot have handed out (a bare year, a time in the future) would stop the
 * account's sync without a word, so it is refused.
 */
export function decodeCheckpoint(checkpoint: string, now: Date = new Date()): ContactPosition {
  const refuse = (why: string) => new TalkdeskRequestError(`synchronization_checkpoint ${JSON.stringify(checkpoint.slice(0, 100))} ${why}`);
  const unknown = () => refuse(`is not one this bridge hands out: ${CHECKPOINT_FORMS}`);
  const future = () => refuse("lies in the future: this bridge never hands out a checkpoint beyond the present");
  const fault = textFault("synchronization_checkpoint", checkpoint);
  if (fault) throw new TalkdeskRequestError(fault);
  const slash = checkpoint.indexOf("/");
  if (slash >= 0) {
    const changed = checkpoint.slice(0, slash);
    if (changed !== "" && !isStamp(changed)) throw unknown();
    if (changed > changedStamp(now)) throw future();
    return { changed, id: checkpoint.slice(slash + 1) };
  }
  const instant = parseDateTime(
    checkpoint
      .trim()
      .replace(/\s*(?:UTC|GMT)$/i, "Z")
      .replace(/\s+([+-]\d{2}(?::?\d{2})?)$/, "$1"),
  );
  if (!instant) throw unknown();
  const time = Date.parse(instant);
  if (time > now.getTime()) throw future();
  // Everything of that second is done: go on from the start of the next one.
  return { changed: changedStamp(new Date(Math.floor(time / 1000) * 1000 + 1000)), id: "" };
}

interface Offset {
  cutoff: string;
  after: ContactPosition;
}

/**
 * The key that signs offsets: derived from the credentials the request carried, which the server
 * has checked against its own. So every replica and every restart of the bridge knows it, no key
 * has to be configured, and only a holder of the credentials can make an offset. A password change
 * invalidates the offsets of a sync under way, which then fails once and starts anew.
 */
function offsetKey(auth: Record<string, unknown>): Uint8Array {
  return sha256(utf8ToBytes(`dbsync talkdesk offset\n${JSON.stringify([auth.username, auth.password])}`));
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  return Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
}

/** 128 bits of HMAC-SHA-256: more than any forger can guess, short enough for an offset. */
function signature(key: Uint8Array, payload: string): string {
  return base64url(hmac(sha256, key, utf8ToBytes(payload)).slice(0, 16));
}

function encodeOffset(offset: Offset, key: Uint8Array): string {
  const payload = base64url(new TextEncoder().encode(JSON.stringify([offset.cutoff, offset.after.changed, offset.after.id])));
  return `${payload}.${signature(key, payload)}`;
}

const OffsetSchema = v.tuple([v.string(), v.string(), v.string()]);

/**
 * An offset of ours: signed, its cutoff a past second, its position before the cutoff and not before
 * the checkpoint the sync started from. Anything else would make Talkdesk skip or repeat contacts.
 */
function decodeOffset(offset: string, key: Uint8Array, start: ContactPosition | undefined, now: Date): Offset {
  const refuse = (why: string) => new TalkdeskRequestError(`offset ${why}`);
  const [payload = "", mac, ...rest] = offset.split(".");
  if (mac === undefined || rest.length > 0 || !sameText(signature(key, payload), mac)) {
    throw refuse("is not one this bridge handed out (a next_offset is passed back exactly as it came)");
  }
  let parsed: Offset;
  try {
    const [cutoff, changed, id] = v.parse(
      OffsetSchema,
      JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64url(payload))),
    );
    parsed = { cutoff, after: { changed, id } };
  } catch {
    throw refuse("is damaged");
  }
  const { cutoff, after } = parsed;
  if (!isStamp(cutoff) || (after.changed !== "" && !isStamp(after.changed)) || textFault("offset", after.id)) throw refuse("is damaged");
  if (cutoff > changedStamp(now)) throw refuse("lies in the future (its cutoff is after the present: is a clock of the bridge wrong?)");
  if (after.changed !== "" && after.changed >= cutoff) throw refuse("is damaged: its position is not before its cutoff");
  if (start && after.changed < start.changed) throw refuse("does not continue this synchronization_checkpoint");
  return parsed;
}

/** Compared in full whatever the first difference, so the time taken tells nothing of a signature. */
function sameText(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ (b.charCodeAt(i) || 0);
  return difference === 0;
}

/** One answer to Talkdesk: a page of contacts in change order, and where to go on from. */
export async function contactSyncPage(
  reader: ContactReader,
  request: ContactSyncRequest,
  options: ContactSyncOptions,
): Promise<ContactSyncResponse> {
  const { synchronization_checkpoint: checkpoint, offset, context } = request.meta;
  const now = options.now?.() ?? new Date();
  const start = checkpoint ? decodeCheckpoint(checkpoint, now) : undefined;
  const key = offsetKey(request.auth);
  // The first page fixes the cutoff; the next pages carry it, so the sync sees one consistent set.
  const page = offset ? decodeOffset(offset, key, start, now) : undefined;
  const cutoff = page?.cutoff ?? changedStamp(new Date(now.getTime() - options.settleMs));
  const after = page?.after ?? start;

  const existing = new Set(await reader.columns());
  const columns = mappedColumns(options.mapping).filter((column) => existing.has(column));
  const { rows, more } = await reader.page({ after, before: cutoff, limit: options.pageSize, columns });
  const last = rows.at(-1);
  const reached: ContactPosition | undefined = last ? { changed: String(last.$changed ?? ""), id: String(last.$id) } : after;
  const response: ContactSyncResponse = {
    contacts: rows.map((row) => toTalkdeskContact(row, options.mapping)),
    // Nothing at all yet: everything before the cutoff has been seen.
    synchronization_checkpoint: encodeCheckpoint(reached ?? { changed: cutoff, id: "" }),
  };
  if (more && reached) {
    response.next_offset = encodeOffset({ cutoff, after: reached }, key);
    response.context = context ?? null;
  }
  return response;
}
