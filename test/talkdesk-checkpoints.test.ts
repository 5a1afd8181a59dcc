// The Talkdesk bridge refuses checkpoints and offsets it cannot have handed out, through the app as
// `dbsync serve` builds it (app.request) over a real libSQL contacts table: a bare year or a time in
// the future would stop the account's sync without a word, a forged offset would skip contacts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Hono } from "hono";
import { resolveMapping } from "../src/core/talkdesk/contact-mapping.ts";
import { ContactReader } from "../src/core/sql/contact-reader.ts";
import type { Dialect } from "../src/core/sql/dialect.ts";
import { PhoneIndex } from "../src/core/phonecalls/phone-index.ts";
import { PhonecallService } from "../src/core/phonecalls/service.ts";
import { PhonecallStore } from "../src/core/phonecalls/store.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { decodeCheckpoint, TalkdeskRequestError } from "../src/core/talkdesk/talkdesk.ts";
import { openDialect } from "../src/dialects/index.ts";
import { createApp } from "../src/server.ts";
import { tempDir } from "./helpers/run.ts";

const AUTH = { username: "talkdesk@example.com", password: "s3cret-pass" };
const NOW = new Date("2026-11-22T12:00:00Z");
const FIELDS = [{ name: "firstname", type: "field", fieldType: "text", deleted: false }];
const CONTACTS = Array.from({ length: 25 }, (_, i) => ({
  $id: `C${String(i).padStart(3, "0")}`,
  $md5: `md5-${i}`,
  $changed: `2026-11-22T10:${String(i).padStart(2, "0")}:00Z`,
  $phone: `+4930${String(1_000_000 + i)}`,
  firstname: `Ann ${i}`,
}));

let dialect: Dialect;
let state: StateStore;

/** The app as serve builds it, with these credentials and this clock. */
function bridge(credentials = AUTH, now = NOW): Hono {
  const contacts = new ContactReader(dialect, "contacts");
  return createApp({
    contacts,
    phonecalls: {
      service: new PhonecallService(
        new PhonecallStore(dialect, ""),
        new PhoneIndex(dialect, contacts, "", { phoneColumns: (columns) => resolveMapping(columns).phones, settleMs: 0 }),
      ),
      tokenHashes: async () => [],
    },
    checkpoints: () => state.listCheckpoints(),
    talkdesk: { credentials, pageSize: 10, settleMs: 60_000 },
    ready: async () => {},
    now: () => now,
  });
}

beforeAll(async () => {
  const dir = tempDir("talkdesk-checkpoints");
  dialect = await openDialect(`file:${join(dir, "target.db")}`);
  const target = new SqlTarget(dialect, "");
  await target.prepare(FIELDS);
  await target.write({ contacts: CONTACTS });
  state = await openStateStore(":memory:");
});
afterAll(async () => {
  await state.close();
  await dialect.close();
});

interface SyncAnswer {
  status: number;
  body: { error?: string; contacts?: { id: string }[]; synchronization_checkpoint?: string; next_offset?: string };
}

async function sync(app: Hono, meta: Record<string, unknown>, auth: Record<string, unknown> = AUTH): Promise<SyncAnswer> {
  const response = await app.request("/talkdesk/contact_sync", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ auth, meta }),
  });
  return { status: response.status, body: (await response.json()) as SyncAnswer["body"] };
}

describe("checkpoints", () => {
  const refused: [string, RegExp][] = [
    ["9999", /is not one this bridge hands out/],
    ["2099", /is not one this bridge hands out/],
    ["Dec 31 2099", /is not one this bridge hands out/],
    ["Nov 20 2012", /is not one this bridge hands out/],
    ["2012-11-20", /is not one this bridge hands out/],
    ["1353452460", /is not one this bridge hands out/],
    ["2012-11-20 23:01:00 CET", /is not one this bridge hands out/],
    ["2012-02-30 10:00:00 UTC", /is not one this bridge hands out/],
    ["2099-12-31 23:59:59 UTC", /lies in the future/],
    ["2026-11-22 12:00:01 UTC", /lies in the future/],
    ["2099-01-01T00:00:00Z/C001", /lies in the future/],
    ["2026-02-30T10:00:00Z/C001", /is not one this bridge hands out/],
    ["2026-11-22T10:00:00.000Z/C001", /is not one this bridge hands out/],
    ["yesterday/C001", /is not one this bridge hands out/],
    ["2026-11-22T10:00:00Z/C\u0000001", /control character/],
    ["2026-11-22T10:00:00Z/C\ud800", /well-formed/],
  ];
  for (const [checkpoint, reason] of refused) {
    test(`${JSON.stringify(checkpoint)}: 400 saying why, never a checkpoint`, async () => {
      const answer = await sync(bridge(), { synchronization_checkpoint: checkpoint });
      expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 400, error: expect.stringMatching(reason) });
      expect(answer.body.error).toStartWith("synchronization_checkpoint");
      expect(answer.body.synchronization_checkpoint).toBeUndefined();
    });
  }

  test("the plain time of Talkdesk's documentation and its spellings: the contacts changed after that second", async () => {
    for (const checkpoint of [
      "2026-11-22 10:19:00 UTC",
      "2026-11-22T10:19:00Z",
      "2026-11-22 10:19:00",
      "2026-11-22 10:19 UTC",
      "2026-11-22 11:19:00 +01:00",
      "2026-11-22 11:19:00 +0100",
      "2026-11-22T10:19:00.750Z",
    ]) {
      const answer = await sync(bridge(), { synchronization_checkpoint: checkpoint });
      expect({ checkpoint, status: answer.status, ids: answer.body.contacts?.map((c) => c.id) }).toEqual({
        checkpoint,
        status: 200,
        ids: ["C020", "C021", "C022", "C023", "C024"],
      });
    }
  });

  test("ours go on after their contact; one at the present second is still ours", () => {
    expect(decodeCheckpoint("2026-11-22T10:19:00Z/C019", NOW)).toEqual({ changed: "2026-11-22T10:19:00Z", id: "C019" });
    expect(decodeCheckpoint("/C005", NOW)).toEqual({ changed: "", id: "C005" });
    expect(decodeCheckpoint("2026-11-22T12:00:00Z/", NOW)).toEqual({ changed: "2026-11-22T12:00:00Z", id: "" });
    expect(() => decodeCheckpoint("2026-11-22T12:00:01Z/", NOW)).toThrow(TalkdeskRequestError);
  });
});

describe("offsets", () => {
  /** The first page of an initial sync and its next_offset. */
  async function firstPage(app = bridge(), auth: Record<string, unknown> = AUTH) {
    const answer = await sync(app, {}, auth);
    expect(answer.status).toBe(200);
    expect(typeof answer.body.next_offset).toBe("string");
    return answer.body.next_offset as string;
  }

  test("one handed out is taken by another replica or after a restart with the same credentials", async () => {
    const offset = await firstPage();
    const answer = await sync(bridge(), { offset });
    expect({ status: answer.status, ids: answer.body.contacts?.map((c) => c.id) }).toEqual({
      status: 200,
      ids: CONTACTS.slice(10, 20).map((c) => c.$id),
    });
  });

  test("forged, altered, or made without the signature: 400, no contacts", async () => {
    const offset = await firstPage();
    const [payload = "", mac = ""] = offset.split(".");
    const json = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as string[];
    const encode = (value: unknown) => btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const forgedPayload = encode([json[0], "2026-11-22T10:20:00Z", "C020"]);
    for (const forged of [
      forgedPayload, // the form of the previous versions, unsigned
      `${forgedPayload}.${mac}`, // another position under the real signature
      `${payload}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`,
      `${payload}.`,
      `${payload}.${mac}.${mac}`,
      "2",
      "garbage",
      "",
    ]) {
      const answer = await sync(bridge(), { offset: forged });
      if (forged === "") {
        expect(answer.status).toBe(200); // no offset: a fresh initial sync
        continue;
      }
      expect({ forged, status: answer.status, error: answer.body.error }).toEqual({
        forged,
        status: 400,
        error: expect.stringMatching(/^offset /),
      });
      expect(answer.body.contacts).toBeUndefined();
    }
  });

  test("one made under other credentials: 400", async () => {
    const other = { username: AUTH.username, password: "another-pass" };
    const offset = await firstPage(bridge(other), other);
    const answer = await sync(bridge(), { offset });
    expect({ status: answer.status, error: answer.body.error }).toEqual({
      status: 400,
      error: expect.stringMatching(/is not one this bridge handed out/),
    });
  });

  test("a cutoff in the future (a replica whose clock is ahead by a day): 400", async () => {
    const offset = await firstPage(bridge(AUTH, new Date(NOW.getTime() + 86_400_000)));
    const answer = await sync(bridge(), { offset });
    expect({ status: answer.status, error: answer.body.error }).toEqual({
      status: 400,
      error: expect.stringMatching(/lies in the future/),
    });
  });

  test("an offset that does not continue the checkpoint sent with it: 400", async () => {
    const offset = await firstPage();
    const answer = await sync(bridge(), { synchronization_checkpoint: "2026-11-22T10:15:00Z/C015", offset });
    expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 400, error: expect.stringMatching(/does not continue/) });
  });
});

describe("malformed requests", () => {
  test("a checkpoint or offset of the wrong type, meta or auth not objects: 400 in our words", async () => {
    const cases: [unknown, RegExp][] = [
      [
        { auth: AUTH, meta: { synchronization_checkpoint: 9999 } },
        /^meta\.synchronization_checkpoint: must be text: the synchronization_checkpoint this bridge returned$/,
      ],
      [{ auth: AUTH, meta: { offset: { page: 2 } } }, /^meta\.offset: must be the next_offset of the previous page/],
      [
        { auth: AUTH, meta: { synchronization_checkpoint: "x".repeat(2001) } },
        /^meta\.synchronization_checkpoint: is longer than 2,000 characters$/,
      ],
      [{ auth: AUTH, meta: 5 }, /^meta: must be an object/],
      [{ auth: "user:pass", meta: {} }, /^auth: is required: an object with the username and password$/],
      [{ meta: {} }, /^auth: the body must be a JSON object with auth and meta$/],
      [null, /^the body must be a JSON object with auth and meta$/],
    ];
    for (const [body, message] of cases) {
      const response = await bridge().request("/talkdesk/contact_sync", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as { error: string };
      expect({ body, status: response.status, error: answer.error }).toEqual({ body, status: 400, error: expect.stringMatching(message) });
    }
  });
});

describe("credentials", () => {
  test("a password that UTF-8 cannot carry as sent never matches the one it would turn into", async () => {
    // An unpaired surrogate becomes U+FFFD when encoded: it must not pass for a password holding U+FFFD.
    const configured = { username: "talkdesk", password: "pass\ufffd" };
    const app = bridge(configured);
    const validate = (auth: unknown) =>
      app.request("/talkdesk/validate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ auth }),
      });
    expect((await validate(configured)).status).toBe(200);
    expect((await validate({ ...configured, password: "pass\ud800" })).status).toBe(401);
    expect((await sync(app, {}, { ...configured, password: "pass\udfff" })).status).toBe(401);
    expect((await sync(app, {}, { ...configured, username: "talkdesk\u0000" })).status).toBe(401);
    expect((await sync(app, {}, configured)).status).toBe(200);
  });
});
