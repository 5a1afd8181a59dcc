// The Talkdesk bridge's paging over a real libSQL contacts table written by the sync's own target:
// every contact exactly once, in order, across pages and incremental syncs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { resolveMapping } from "../src/core/talkdesk/contact-mapping.ts";
import { ContactReader } from "../src/core/sql/contact-reader.ts";
import type { Dialect } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import {
  type ContactSyncRequest,
  contactSyncPage,
  decodeCheckpoint,
  encodeCheckpoint,
  TalkdeskRequestError,
} from "../src/core/talkdesk/talkdesk.ts";
import { openDialect } from "../src/dialects/index.ts";
import { tempDir } from "./helpers/run.ts";

const FIELDS = [
  { name: "firstname", type: "field", fieldType: "text", deleted: false },
  { name: "lastname", type: "field", fieldType: "text", deleted: false },
  { name: "mobile", type: "field", fieldType: "phone", deleted: false },
];
const NOW = new Date("2026-11-22T12:00:00Z");

let dialect: Dialect;
let target: SqlTarget;
let reader: ContactReader;

beforeAll(async () => {
  dialect = await openDialect(`file:${join(tempDir("talkdesk"), "target.db")}`);
  target = new SqlTarget(dialect, "");
  await target.prepare(FIELDS);
  reader = new ContactReader(dialect, "contacts");
});
afterAll(() => target.close());

function contact(id: string, changed: string, extra: Record<string, string | null> = {}) {
  return { $id: id, $md5: `md5-${id}-${changed}`, $changed: changed, $phone: `+4930${id.replace(/\D/g, "").padStart(7, "0")}`, ...extra };
}

/** Plays Talkdesk: follows next_offset to the end; returns the contacts in order and the last checkpoint. */
async function sync(checkpoint?: string, pageSize = 100) {
  const ids: string[] = [];
  let meta: ContactSyncRequest["meta"] = checkpoint ? { synchronization_checkpoint: checkpoint } : {};
  let pages = 0;
  for (;;) {
    const answer = await contactSyncPage(
      reader,
      { auth: {}, meta },
      {
        mapping: resolveMapping(await reader.columns()),
        pageSize,
        settleMs: 60_000,
        now: () => NOW,
      },
    );
    pages++;
    ids.push(...answer.contacts.map((c) => c.id));
    if (!answer.next_offset) return { ids, checkpoint: answer.synchronization_checkpoint, pages, answer };
    expect(answer.context).toBe(meta.context ?? null);
    meta = { ...meta, offset: answer.next_offset, context: { page: pages } };
  }
}

describe("contact sync paging", () => {
  const sameTime = "2026-11-22T10:00:00Z";
  const all = Array.from({ length: 1000 }, (_, i) => `C${String(i).padStart(4, "0")}`);
  let checkpoint = "";

  test("initial sync: 1,000 contacts sharing one change time, each once, ascending", async () => {
    await target.write({ contacts: all.map((id) => contact(id, sameTime, { firstname: "Ann", lastname: id })) });
    const first = await sync();
    expect(first.ids).toEqual(all);
    expect(first.pages).toBe(10);
    expect(first.checkpoint).toBe(`${sameTime}/C0999`);
    checkpoint = first.checkpoint;
  });

  test("incremental sync without changes: nothing, the same checkpoint", async () => {
    const again = await sync(checkpoint);
    expect(again.ids).toEqual([]);
    expect(again.checkpoint).toBe(checkpoint);
  });

  test("incremental sync: exactly the changed and new contacts; one written within the settle time waits", async () => {
    await target.write({
      contacts: [
        contact("C0005", "2026-11-22T10:30:00Z"),
        contact("C1000", "2026-11-22T10:30:00Z"),
        contact("C0002", "2026-11-22T11:59:30Z"), // written a moment ago: its transaction may still be open
      ],
    });
    const next = await sync(checkpoint, 1);
    expect(next.ids).toEqual(["C0005", "C1000"]);
    expect(next.checkpoint).toBe("2026-11-22T10:30:00Z/C1000");
    checkpoint = next.checkpoint;
  });

  test("a contact changed while Talkdesk pages comes in the next sync, not lost", async () => {
    await target.write({ contacts: [contact("C0100", "2026-11-22T11:00:00Z"), contact("C0200", "2026-11-22T11:00:00Z")] });
    const firstPage = await contactSyncPage(
      reader,
      { auth: {}, meta: { synchronization_checkpoint: checkpoint } },
      {
        mapping: resolveMapping(await reader.columns()),
        pageSize: 1,
        settleMs: 60_000,
        now: () => NOW,
      },
    );
    expect(firstPage.contacts.map((c) => c.id)).toEqual(["C0100"]);
    // Changed now, between two pages: behind the cutoff the first page fixed.
    await target.write({ contacts: [contact("C0001", "2026-11-22T12:00:00Z")] });
    const rest = await contactSyncPage(
      reader,
      { auth: {}, meta: { synchronization_checkpoint: checkpoint, offset: firstPage.next_offset } },
      { mapping: resolveMapping(await reader.columns()), pageSize: 10, settleMs: 60_000, now: () => new Date(NOW.getTime() + 5000) },
    );
    expect(rest.contacts.map((c) => c.id)).toEqual(["C0200"]);
    expect(rest.next_offset).toBeUndefined();
    const later = await contactSyncPage(
      reader,
      { auth: {}, meta: { synchronization_checkpoint: rest.synchronization_checkpoint } },
      {
        mapping: resolveMapping(await reader.columns()),
        pageSize: 10,
        settleMs: 60_000,
        now: () => new Date(NOW.getTime() + 5 * 60_000),
      },
    );
    expect(later.contacts.map((c) => c.id)).toEqual(["C0002", "C0001"]);
  });
});

describe("checkpoints and offsets", () => {
  test("ours round-trip; the id may contain a slash", () => {
    const position = { changed: "2026-11-22T10:00:00Z", id: "a/b" };
    expect(decodeCheckpoint(encodeCheckpoint(position))).toEqual(position);
  });

  test("a plain time as other bridges set it means: changed after that second", () => {
    expect(decodeCheckpoint("2012-11-20 23:01:00 UTC")).toEqual({ changed: "2012-11-20T23:01:01Z", id: "" });
  });

  test("damaged ones are refused with a clear error", async () => {
    expect(() => decodeCheckpoint("yesterday")).toThrow(TalkdeskRequestError);
    expect(() => decodeCheckpoint("+275760-09-13T00:00:00Z")).toThrow(TalkdeskRequestError); // the last second of Date
    const options = { mapping: resolveMapping([]), pageSize: 10, settleMs: 0 };
    for (const offset of ["not-base64!", btoa("[1,2]"), btoa("{}")]) {
      await expect(contactSyncPage(reader, { auth: {}, meta: { offset } }, options)).rejects.toBeInstanceOf(TalkdeskRequestError);
    }
  });
});

describe("contacts in Talkdesk's format", () => {
  test("name from first and last name, else the phone; phones from $phone and phone fields", async () => {
    await target.write({
      contacts: [
        contact("N0001", "2026-11-22T09:00:00Z", { firstname: "Zoë", lastname: "Müller", mobile: "+4915112345678" }),
        contact("N0002", "2026-11-22T09:00:00Z", { firstname: null, lastname: "", mobile: null }),
      ],
    });
    const page = await contactSyncPage(
      reader,
      { auth: {}, meta: {} },
      {
        mapping: resolveMapping(await reader.columns()),
        pageSize: 2,
        settleMs: 0,
        now: () => NOW,
      },
    );
    expect(page.contacts).toEqual([
      { id: "N0001", name: "Zoë Müller", phones: ["+49300000001", "+4915112345678"] },
      { id: "N0002", name: "+49300000002", phones: ["+49300000002"] },
    ]);
  });
});
