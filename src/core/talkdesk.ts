// Talkdesk's contact synchronization (seed 003): initial sync, its next pages, incremental sync
// since a checkpoint, and its next pages. The checkpoint is the position of the last contact sent
// in the order (`$changed`, `$id`), which is strictly increasing, so no contact is skipped even when
// thousands share one change time. A sync only reaches up to a cutoff a little in the past: a
// contact written meanwhile, with a `$changed` stamped before its transaction committed, is not
// passed over by a checkpoint that was already beyond it.
import * as v from "valibot";
import { type ContactMapping, mappedColumns, type TalkdeskContact, toTalkdeskContact } from "./contact-mapping.ts";
import type { ContactPosition, ContactReader } from "./contact-reader.ts";

const text = v.pipe(v.string(), v.maxLength(2000, "is too long"));

export const ContactSyncRequestSchema = v.object({
  auth: v.record(v.string(), v.unknown()),
  meta: v.optional(
    v.object({
      synchronization_checkpoint: v.optional(v.nullable(text)),
      offset: v.optional(v.nullable(v.union([text, v.pipe(v.number(), v.transform(String))]))),
      context: v.optional(v.unknown()),
    }),
    {},
  ),
});
export type ContactSyncRequest = v.InferOutput<typeof ContactSyncRequestSchema>;

export interface ContactSyncResponse {
  contacts: TalkdeskContact[];
  synchronization_checkpoint: string;
  next_offset?: string;
  context?: unknown;
}

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

/**
 * A checkpoint of ours, or (tolerantly) a plain time as other bridges set it, such as the seed's
 * "2012-11-20 23:01:00 UTC": then every contact changed after that second comes.
 */
export function decodeCheckpoint(checkpoint: string): ContactPosition {
  const slash = checkpoint.indexOf("/");
  if (slash >= 0) {
    const changed = checkpoint.slice(0, slash);
    if (changed === "" || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(changed)) return { changed, id: checkpoint.slice(slash + 1) };
  }
  const time = Date.parse(checkpoint.replace(/ UTC$/, "Z").replace(" ", "T"));
  if (Number.isNaN(time)) throw new TalkdeskRequestError("synchronization_checkpoint is not one this bridge handed out");
  // Everything of that second is done: go on from the start of the next one.
  const next = new Date(Math.floor(time / 1000) * 1000 + 1000);
  if (Number.isNaN(next.getTime())) throw new TalkdeskRequestError("synchronization_checkpoint is out of range");
  return { changed: changedStamp(next), id: "" };
}

interface Offset {
  cutoff: string;
  after: ContactPosition;
}

function encodeOffset(offset: Offset): string {
  const json = JSON.stringify([offset.cutoff, offset.after.changed, offset.after.id]);
  return btoa(String.fromCharCode(...new TextEncoder().encode(json)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

const OffsetSchema = v.tuple([v.string(), v.string(), v.string()]);

function decodeOffset(offset: string): Offset {
  try {
    const bytes = Uint8Array.from(atob(offset.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
    const [cutoff, changed, id] = v.parse(OffsetSchema, JSON.parse(new TextDecoder().decode(bytes)));
    return { cutoff, after: { changed, id } };
  } catch {
    throw new TalkdeskRequestError("offset is not one this bridge handed out");
  }
}

/** One answer to Talkdesk: a page of contacts in change order, and where to go on from. */
export async function contactSyncPage(
  reader: ContactReader,
  request: ContactSyncRequest,
  options: ContactSyncOptions,
): Promise<ContactSyncResponse> {
  const { synchronization_checkpoint: checkpoint, offset, context } = request.meta;
  const start = checkpoint ? decodeCheckpoint(checkpoint) : undefined;
  // The first page fixes the cutoff; the next pages carry it, so the sync sees one consistent set.
  const page = offset ? decodeOffset(offset) : undefined;
  const cutoff = page?.cutoff ?? changedStamp(new Date((options.now?.() ?? new Date()).getTime() - options.settleMs));
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
    response.next_offset = encodeOffset({ cutoff, after: reached });
    response.context = context ?? null;
  }
  return response;
}
