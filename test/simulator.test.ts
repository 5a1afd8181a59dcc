// The Dialfire API simulator: its campaign model (the truth other tests compare against) and the
// HTTP endpoints dbsync2 1.15.0 calls, driven in-process through app.request().
import { describe, expect, test } from "bun:test";
import { md5Hex } from "../src/core/common/md5.ts";
import type { Contact, InboundCall, Transaction } from "../src/core/sync/source.ts";
import { createSimulatorApp } from "../src/simulator/app.ts";
import { createCampaign } from "../src/simulator/campaign.ts";
import { canonicalJson } from "../src/core/sync/canonical-json.ts";
import { noFaults } from "../src/simulator/faults.ts";
import { startSimulator } from "../src/simulator/serve.ts";
import { parseApiTimestamp } from "../src/simulator/time.ts";

const CID = "K7Q2M9XR4T8WZB3N";
const TOKEN = "test-token_0123456789-abcdefghijklmnopqrstuvwxyz";
const START = Date.parse("2024-03-04T12:00:00.000Z");
const BASE = `/api/campaigns/${CID}`;

/** A campaign on a clock the test moves by hand. */
function setup(contacts = 60, seed = 7) {
  let clock = START;
  const campaign = createCampaign({ campaignId: CID, contacts, seed, now: () => new Date(clock) });
  const faults = noFaults();
  const app = createSimulatorApp(campaign, { token: TOKEN, faults });
  /** `token: null` sends no Authorization header. */
  const request = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    app.request(path, { ...init, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...init.headers } });
  const getJson = async (path: string) => {
    const response = await request(path);
    expect(response.status).toBe(200);
    return response.json();
  };
  const post = (path: string, body: string) => request(path, { method: "POST", body });
  const advance = (ms: number) => {
    clock += ms;
  };
  return { campaign, faults, app, request, getJson, post, advance, now: () => clock };
}

type Page<T> = { count: number; results: T[]; cursor: string };

/** Follows cursors like the original client, collecting every page. */
async function allPages<T>(getJson: (path: string) => Promise<unknown>, path: string): Promise<{ results: T[]; pages: Page<T>[] }> {
  const pages: Page<T>[] = [];
  let cursor = "";
  do {
    const page = (await getJson(cursor ? `${path}&cursor=${cursor}` : path)) as Page<T>;
    expect(page.count).toBe(page.results.length);
    pages.push(page);
    cursor = page.cursor;
  } while (cursor !== "");
  return { results: pages.flatMap((p) => p.results), pages };
}

function transactionsOf(contact: Contact): Transaction[] {
  return (contact.$task_log ?? []).flatMap((entry) => entry.transactions ?? []);
}

function connectionsOf(contact: Contact): Record<string, unknown>[] {
  return transactionsOf(contact).flatMap((t) => (t.connections ?? []) as Record<string, unknown>[]);
}

const isHumanInteraction = (t: Transaction) => typeof t.user === "string" && t.user !== "" && t.status_detail !== "$assigned";

describe("campaign model", () => {
  test("the same seed and start time give the same campaign; another seed gives another", () => {
    const make = (seed: number) => createCampaign({ campaignId: CID, contacts: 40, seed, now: () => new Date(START) });
    const a = make(11);
    const b = make(11);
    expect(b.contacts()).toEqual(a.contacts());
    expect(b.fields()).toEqual(a.fields());
    expect(b.inboundCalls()).toEqual(a.inboundCalls());
    expect(b.tick()).toEqual(a.tick());
    expect(b.contacts()).toEqual(a.contacts());
    const other = make(12);
    expect(other.contacts()[0].$id).not.toBe(a.contacts()[0].$id);
  });

  test("field list has awkward names, one deleted field and one label", () => {
    const { campaign } = setup();
    const fields = campaign.fields();
    const names = fields.map((f) => f.name);
    for (const name of ["first name", 'quote"d', "it's", "straße", "名前", "select", "order", "group"]) expect(names).toContain(name);
    expect(names.some((n) => n.length > 64)).toBe(true);
    expect(fields.filter((f) => f.deleted)).toHaveLength(1);
    expect(fields.filter((f) => f.type === "label")).toHaveLength(1);
    const folded = names.map((n) => n.toLowerCase());
    expect(new Set(folded).size).toBe(folded.length);
    for (const field of fields) expect(Object.keys(field).sort()).toEqual(["deleted", "fieldType", "name", "state", "type"]);
    expect(new Set(fields.map((f) => f.fieldType))).toEqual(
      new Set(["text", "number", "textarea", "", "checkbox", "dropdown", "date", "phone", "calendar", "radiogroup", "autocomplete"]),
    );
  });

  test("contacts carry built-in fields, varied custom values, a task log and a correct $md5", () => {
    const { campaign } = setup(400, 3);
    const contacts = campaign.contacts();
    expect(contacts).toHaveLength(400);
    for (const contact of contacts) {
      expect(contact.$id).toMatch(/^[A-Z0-9]{16}$/);
      expect(contact.$version).toMatch(/^[A-Z0-9]{16}$/);
      const { $md5, ...rest } = contact;
      expect($md5).toBe(md5Hex(canonicalJson(rest)));
      for (const key of [
        "$ref",
        "$campaign_id",
        "$task_id",
        "$task",
        "$status",
        "$status_detail",
        "$phone",
        "$timezone",
        "$created_date",
        "$entry_date",
        "$comment",
        "$recording_url",
        "$owner",
      ]) {
        expect(contact).toHaveProperty([key]);
      }
      expect(contact[`$$${contact.$task}_status`]).toBe(contact.$status);
      const fired = transactionsOf(contact).map((t) => t.fired);
      expect(new Set(fired).size).toBe(fired.length);
      for (const t of fired) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      for (const t of fired) expect(Date.parse(t!)).toBeLessThanOrEqual(START);
      expect(Date.parse(String(contact.$created_date))).toBeGreaterThanOrEqual(START - 30 * 86_400_000);
    }
    const values = (name: string) => contacts.map((c) => c[name]);
    expect(values("customer_no").some((v) => Number.isInteger(v))).toBe(true);
    expect(values("amount").some((v) => typeof v === "number" && !Number.isInteger(v))).toBe(true);
    expect(new Set(values("opt_in").filter((v) => v !== ""))).toEqual(new Set(["true", "false"]));
    expect(values("notes").some((v) => typeof v === "string" && v.length > 2000)).toBe(true);
    expect(values("notes").some((v) => typeof v === "string" && /\p{Extended_Pictographic}/u.test(v))).toBe(true);
    expect(values("customer_no")).toContain(null);
    expect(values("firstname")).toContain("");
    expect(contacts.some((c) => "old_segment" in c)).toBe(true);
  });

  test("task logs mix tasks, transaction types, human and system transactions", () => {
    const { campaign } = setup(400, 3);
    const transactions = campaign.contacts().flatMap(transactionsOf);
    const tasks = new Set(transactions.map((t) => String(t.task)));
    for (const prefix of ["fc_", "qc_", "call_back", "inbound_service"]) expect([...tasks].some((t) => t.startsWith(prefix))).toBe(true);
    const types = new Set(transactions.map((t) => t.type));
    expect(types).toEqual(new Set(["update", "create", "assign"]));
    expect(transactions.filter((t) => t.type === "update").length).toBeGreaterThan(transactions.length / 2);
    const human = transactions.filter((t) => t.isHI === true);
    expect(human.length).toBeGreaterThan(0);
    for (const t of human) expect([t.actor, t.trigger, typeof t.user]).toEqual(["user", "user", "string"]);
    const system = transactions.filter((t) => t.trigger === "other" && t.user === undefined);
    expect(system.length).toBeGreaterThan(0);
    const assigned = transactions.filter((t) => t.status_detail === "$assigned");
    expect(assigned.length).toBeGreaterThan(0);
    for (const t of assigned) expect(typeof t.user).toBe("string");
    for (const t of transactions.filter((t) => "pause_time_sec" in t)) {
      for (const key of ["pause_time_sec", "edit_time_sec", "wrapup_time_sec", "sequence_nr"]) expect(Number.isInteger(t[key])).toBe(true);
    }
  });

  test("connections: ids, transfers after a phone leg, third-party legs, calls in progress, recordings", () => {
    const { campaign } = setup(400, 3);
    const contacts = campaign.contacts();
    const connections = contacts.flatMap(connectionsOf);
    for (const connection of connections) expect(typeof connection.id).toBe("string");
    const transactions = contacts.flatMap(transactionsOf);
    const withTransfer = transactions.filter((t) =>
      ((t.connections ?? []) as { technology: string }[]).some((c) => c.technology === "transfer"),
    );
    expect(withTransfer.length).toBeGreaterThan(0);
    for (const t of withTransfer) {
      const legs = t.connections as { technology: string }[];
      const at = legs.findIndex((c) => c.technology === "transfer");
      expect(at).toBeGreaterThan(0);
      expect(legs[at - 1].technology).toBe("phone");
    }
    const thirdParty = connections.flatMap((c) => (c.third_party_connections ?? []) as Record<string, unknown>[]);
    expect(thirdParty.length).toBeGreaterThan(0);
    for (const leg of thirdParty) expect([typeof leg.id, leg.isThirdPartyConnection]).toEqual(["string", true]);
    const inProgress = connections.filter((c) => c.disconnected === undefined);
    expect(inProgress.length).toBeGreaterThanOrEqual(400 / 50);
    const recordings = connections.flatMap((c) => (c.recordings ?? []) as Record<string, unknown>[]);
    expect(recordings.filter((r) => typeof r.location === "string").length).toBeGreaterThan(0);
    const unplaced = recordings.filter((r) => r.location === undefined);
    expect(unplaced.length).toBeGreaterThan(0);
    for (const r of unplaced) expect(typeof r.started).toBe("string");
  });

  test("inbound calls mostly reference contacts and are spread over the history", () => {
    const { campaign } = setup(200, 5);
    const ids = new Set(campaign.contacts().map((c) => c.$id));
    const calls = campaign.inboundCalls();
    expect(calls.length).toBe(40);
    const known = calls.filter((c) => ids.has(String(c.contact_id)));
    expect(known.length).toBeGreaterThan(calls.length / 2);
    expect(calls.some((c) => c.contact_id === "")).toBe(true);
    for (const call of calls) {
      for (const [key, value] of Object.entries(call)) expect(typeof value).toBe(key === "dispatch_error" ? "boolean" : "string");
      expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
    }
    const days = new Set(calls.map((c) => String(c.call_time).slice(0, 10)));
    expect(days.size).toBeGreaterThan(10);
  });

  test("timestamps of every shape the client sends parse as UTC", () => {
    expect(parseApiTimestamp("2024-03-04")).toBe(Date.parse("2024-03-04T00:00:00.000Z"));
    expect(parseApiTimestamp("2024-03-04T09:02:40")).toBe(Date.parse("2024-03-04T09:02:40.000Z"));
    expect(parseApiTimestamp("2024-03-04T09:02:40.1")).toBe(Date.parse("2024-03-04T09:02:40.100Z"));
    expect(parseApiTimestamp("2024-03-04T09:02:40.11")).toBe(Date.parse("2024-03-04T09:02:40.110Z"));
    expect(parseApiTimestamp("2024-03-04T09:02:40.118")).toBe(Date.parse("2024-03-04T09:02:40.118Z"));
    expect(parseApiTimestamp("2024-03-04T09:02:40.118Z")).toBe(Date.parse("2024-03-04T09:02:40.118Z"));
    expect(parseApiTimestamp("2024-03-04T09:02:40.118+01:00")).toBe(Date.parse("2024-03-04T08:02:40.118Z"));
    for (const bad of ["", "yesterday", "2024-13-01", "2024-02-30", "2024-03-04T25:00:00", "2024-03-04 09:02:40", "1700000000"]) {
      expect(parseApiTimestamp(bad)).toBeUndefined();
    }
  });
});

describe("authentication", () => {
  test("missing or wrong token and unknown campaign id give 403 with a short body", async () => {
    const { request } = setup();
    for (const [path, token] of [
      [`${BASE}/fields/list`, null],
      [`${BASE}/fields/list`, "wrong"],
      [`/api/campaigns/UNKNOWNCAMPAIGN1/fields/list`, TOKEN],
      [`${BASE}/contacts/list`, `${TOKEN}x`],
      [`${BASE}/contacts/transactions/?from=2024-03-01`, null],
      [`${BASE}/inbound/calls/?from=`, "wrong"],
    ] as const) {
      const response = await request(path, {}, token);
      expect(response.status).toBe(403);
      expect((await response.text()).length).toBeLessThan(100);
    }
    const post = await request(`${BASE}/contacts/?include_md5=true`, { method: "POST", body: "[]" }, "wrong");
    expect(post.status).toBe(403);
    expect((await request(`${BASE}/fields/list`)).status).toBe(200);
  });
});

describe("field list and the legacy campaign object", () => {
  test("field list and form.elements describe the same fields", async () => {
    const { campaign, getJson } = setup();
    expect(await getJson(`${BASE}/fields/list`)).toEqual(campaign.fields());
    const legacy = (await getJson(BASE)) as { id: string; form: { elements: unknown[] } };
    expect(legacy.id).toBe(CID);
    expect(legacy.form.elements).toEqual(campaign.fields());
  });
});

describe("contact listing", () => {
  test("pages of 7 cover every contact exactly once, ordered by (change date, md5)", async () => {
    const { campaign, getJson } = setup(60);
    const { results, pages } = await allPages<{ id: string; md5: string }>(getJson, `${BASE}/contacts/list?limit=7`);
    expect(pages).toHaveLength(Math.ceil(60 / 7));
    expect(pages.slice(0, -1).every((p) => p.count === 7 && /^[A-Za-z0-9_-]+$/.test(p.cursor))).toBe(true);
    expect(pages.at(-1)!.cursor).toBe("");
    const truth = new Map(campaign.contacts().map((c) => [c.$id, c.$md5]));
    expect(results).toHaveLength(60);
    expect(new Map(results.map((r) => [r.id, r.md5]))).toEqual(truth);
    const keys = results.map((r) => campaign.changedAt(r.id)!.slice(0, 10) + r.md5);
    expect(keys).toEqual([...keys].sort());
  });

  test("changedSince keeps contacts changed on or after that day, whatever the timestamp shape", async () => {
    const { campaign, getJson } = setup(120);
    const since = "2024-02-20";
    const expected = campaign
      .contacts()
      .filter((c) => campaign.changedAt(c.$id)!.slice(0, 10) >= since)
      .map((c) => c.$id)
      .sort();
    expect(expected.length).toBeGreaterThan(10);
    expect(expected.length).toBeLessThan(120);
    for (const shape of [since, `${since}T00:00:00`, `${since}T17:45:00.5`, `${since}T17:45:00.123Z`]) {
      const { results } = await allPages<{ id: string }>(getJson, `${BASE}/contacts/list?limit=1000&changedSince=${shape}`);
      expect(results.map((r) => r.id).sort()).toEqual(expected);
    }
  });

  test("limit above 1000 is capped, a bad limit or a foreign cursor is a 400", async () => {
    const { getJson, request } = setup(1100, 1);
    const page = (await getJson(`${BASE}/contacts/list?limit=5000`)) as Page<unknown>;
    expect(page.count).toBe(1000);
    const defaulted = (await getJson(`${BASE}/contacts/list`)) as Page<unknown>;
    expect(defaulted.count).toBe(1000);
    expect((await request(`${BASE}/contacts/list?limit=abc`)).status).toBe(400);
    expect((await request(`${BASE}/contacts/list?limit=0`)).status).toBe(400);
    expect((await request(`${BASE}/contacts/list?cursor=%%%`)).status).toBe(400);
    const events = (await getJson(`${BASE}/contacts/transactions/?from=&limit=1`)) as Page<unknown>;
    const foreign = await request(`${BASE}/contacts/list?cursor=${events.cursor}`);
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toEqual({ error: "invalid cursor" });
  });
});

describe("contact fetch", () => {
  test("returns the requested known contacts with $md5 and leaves unknown ids out", async () => {
    const { campaign, post } = setup();
    const truth = campaign.contacts();
    const ids = [truth[5].$id, "UNKNOWNCONTACT01", truth[2].$id, truth[40].$id];
    const response = await post(`${BASE}/contacts/?include_md5=true`, JSON.stringify(ids));
    expect(response.status).toBe(200);
    const contacts = (await response.json()) as Contact[];
    expect(contacts.map((c) => c.$id)).toEqual([truth[5].$id, truth[2].$id, truth[40].$id]);
    expect(contacts).toEqual([truth[5], truth[2], truth[40]]);
    for (const c of contacts) expect(c.$md5).toMatch(/^[0-9a-f]{32}$/);
    expect(await (await post(`${BASE}/contacts/?include_md5=true`, "[]")).json()).toEqual([]);
  });

  test("flat_view serves the same contacts; without include_md5 they have no $md5", async () => {
    const { campaign, post } = setup();
    const truth = campaign.contacts().slice(0, 3);
    const ids = JSON.stringify(truth.map((c) => c.$id));
    const withMd5 = await (await post(`${BASE}/contacts/flat_view?include_md5=true`, ids)).json();
    expect(withMd5).toEqual(truth);
    const plain = (await (await post(`${BASE}/contacts/flat_view`, ids)).json()) as Contact[];
    expect(plain.map((c) => "$md5" in c)).toEqual([false, false, false]);
    expect(plain[0].$task_log).toEqual(truth[0].$task_log!);
  });

  test("bodies that are not a JSON array of at most 100 strings are a 400 with a JSON error", async () => {
    const { post } = setup();
    const tooMany = JSON.stringify(Array.from({ length: 101 }, (_, i) => `ID${i}`));
    for (const body of ["", "not json", "{}", '{"ids":["A"]}', "[1,2]", '["A",null]', tooMany]) {
      const response = await post(`${BASE}/contacts/?include_md5=true`, body);
      expect(response.status).toBe(400);
      expect(typeof ((await response.json()) as { error: string }).error).toBe("string");
    }
  });
});

describe("transaction events", () => {
  test("a window returns one event per transaction modified in [from, to), pointing into the task log", async () => {
    const { campaign, getJson } = setup(150);
    const from = "2024-02-25T00:00:00";
    const to = "2024-03-01T06:30:00.5";
    const { results } = await allPages<string>(getJson, `${BASE}/contacts/transactions/?from=${from}&to=${to}&limit=9`);
    const expected = campaign
      .transactionRecords()
      .filter((r) => r.modified >= "2024-02-25T00:00:00.000Z" && r.modified < "2024-03-01T06:30:00.500Z");
    expect(expected.length).toBeGreaterThan(20);
    expect(results.sort()).toEqual(
      expected.map((r) => `${r.fired}|${r.md5}|${r.contactId}|${r.taskLogIndex},${r.transactionIndex}`).sort(),
    );
    for (const event of results.slice(0, 20)) {
      const [fired, md5, contactId, pointer] = event.split("|");
      const [tl, ta] = pointer.split(",").map(Number);
      const transaction = campaign.contact(contactId)!.$task_log![tl].transactions![ta];
      expect(transaction.fired).toBe(fired);
      expect(md5).toBe(md5Hex(canonicalJson(transaction)));
    }
  });

  test("`from` is inclusive and `to` exclusive, to the millisecond", async () => {
    const { campaign, getJson } = setup(30);
    const record = campaign.transactionRecords()[17];
    const at = Date.parse(record.modified);
    const event = `${record.fired}|${record.md5}|${record.contactId}|${record.taskLogIndex},${record.transactionIndex}`;
    const window = async (from: number, to: number) =>
      (
        (await getJson(
          `${BASE}/contacts/transactions/?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
        )) as Page<string>
      ).results;
    expect(await window(at, at + 1)).toContain(event);
    expect(await window(at - 1000, at)).not.toContain(event);
    expect(await window(at + 1, at + 1000)).not.toContain(event);
  });

  test("without `to` the window ends now; an empty `from` starts at the beginning", async () => {
    const { campaign, getJson } = setup(50);
    const { results } = await allPages<string>(getJson, `${BASE}/contacts/transactions/?from=&limit=1000`);
    expect(results).toHaveLength(campaign.transactionRecords().filter((r) => Date.parse(r.modified) < START).length);
    expect(results.length).toBeGreaterThan(50);
  });

  test("filters type, hi and tasks select like the client's own filters", async () => {
    const { campaign, getJson } = setup(200);
    const byEvent = new Map(campaign.contacts().flatMap((c) => transactionsOf(c).map((t) => [`${c.$id}|${t.fired}`, t] as const)));
    const fetchAll = async (query: string) => {
      const { results } = await allPages<string>(getJson, `${BASE}/contacts/transactions/?${query}&from=2024-01-01&limit=50`);
      return results.map((event) => {
        const [fired, , contactId] = event.split("|");
        return byEvent.get(`${contactId}|${fired}`)!;
      });
    };
    const everything = await fetchAll("x=1");
    expect(everything.length).toBe(byEvent.size);

    const updates = await fetchAll("type=update");
    expect(updates.length).toBe([...byEvent.values()].filter((t) => t.type === "update").length);
    expect(updates.length).toBeLessThan(everything.length);

    const hi = await fetchAll("hi=true");
    expect(hi.length).toBe([...byEvent.values()].filter(isHumanInteraction).length);
    expect(hi.length).toBeGreaterThan(0);
    // Assignments have a user but are not human interactions.
    expect([...byEvent.values()].some((t) => typeof t.user === "string" && !isHumanInteraction(t))).toBe(true);

    const tasks = await fetchAll("tasks=fc_,qc_");
    expect(tasks.length).toBe([...byEvent.values()].filter((t) => /^(fc_|qc_)/.test(String(t.task))).length);
    expect(tasks.every((t) => /^(fc_|qc_)/.test(String(t.task)))).toBe(true);

    // The real client's query: unencoded, random order, a doubled `&`.
    const combined = await fetchAll("type=update&hi=true&tasks=call_,fc_&&x=");
    const expected = [...byEvent.values()].filter(
      (t) => t.type === "update" && isHumanInteraction(t) && /^(call_|fc_)/.test(String(t.task)),
    );
    expect(combined.length).toBe(expected.length);
    expect(combined.length).toBeGreaterThan(0);
  });

  test("every timestamp shape is accepted; an unparseable one is a 400", async () => {
    const { request } = setup(20);
    for (const from of [
      "",
      "2024-03-01",
      "2024-03-01T08:00:00",
      "2024-03-01T08:00:00.4",
      "2024-03-01T08:00:00.45",
      "2024-03-01T08:00:00.456",
      "2024-03-01T08:00:00.456Z",
      "2021-07-19T13:47:50.406",
    ]) {
      expect((await request(`${BASE}/contacts/transactions/?from=${from}&to=2024-03-04T11:00:00&limit=1000`)).status).toBe(200);
      expect((await request(`${BASE}/inbound/calls/?from=${from}&limit=1000`)).status).toBe(200);
    }
    for (const bad of ["yesterday", "2024-02-30", "2024-03-01T8:00"]) {
      const response = await request(`${BASE}/contacts/transactions/?from=${bad}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain("from");
      expect((await request(`${BASE}/inbound/calls/?from=2024-03-01&to=${bad}`)).status).toBe(400);
      expect((await request(`${BASE}/contacts/list?changedSince=${bad}`)).status).toBe(400);
    }
  });
});

describe("inbound calls", () => {
  test("a window returns the calls with call_time in [from, to), across pages", async () => {
    const { campaign, getJson } = setup(300);
    const from = "2024-02-15T00:00:00.000Z";
    const to = "2024-02-28T12:00:00";
    const { results, pages } = await allPages<InboundCall>(getJson, `${BASE}/inbound/calls/?from=${from}&to=${to}&limit=4`);
    const expected = campaign.inboundCalls().filter((c) => String(c.call_time) >= from && String(c.call_time) < "2024-02-28T12:00:00.000Z");
    expect(expected.length).toBeGreaterThan(8);
    expect(pages.length).toBe(Math.ceil(expected.length / 4));
    expect(results).toEqual([...expected].sort((a, b) => (String(a.call_time) + a.id < String(b.call_time) + b.id ? -1 : 1)));
    const everything = await allPages(getJson, `${BASE}/inbound/calls/?from=&limit=1000`);
    expect(everything.results).toHaveLength(campaign.inboundCalls().length);
  });
});

describe("activity", () => {
  test("tick changes contacts (md5, version, changed) and shows up in the current windows", async () => {
    const { campaign, getJson, advance, now } = setup(80);
    const before = new Map(campaign.contacts().map((c) => [c.$id, c]));
    const windowStart = new Date(now()).toISOString();
    advance(60_000);
    const summary = campaign.tick();
    advance(1);
    expect(summary.at).toBe("2024-03-04T12:01:00.000Z");
    expect(summary.newTransactions.length).toBeGreaterThan(0);
    expect(summary.modifiedTransactions.length).toBeGreaterThan(0);
    expect(summary.changedContacts.length).toBeGreaterThan(0);

    for (const id of summary.changedContacts) {
      const after = campaign.contact(id)!;
      expect(campaign.changedAt(id)).toBe(summary.at);
      const old = before.get(id);
      if (!old) continue;
      expect(after.$md5).not.toBe(old.$md5);
      expect(after.$version).not.toBe(old.$version);
      const { $md5, ...rest } = after;
      expect($md5).toBe(md5Hex(canonicalJson(rest)));
    }
    const unchanged = [...before.keys()].filter((id) => !summary.changedContacts.includes(id));
    for (const id of unchanged.slice(0, 10)) expect(campaign.contact(id)).toEqual(before.get(id)!);

    const { results } = await allPages<string>(getJson, `${BASE}/contacts/transactions/?from=${windowStart}&limit=1000`);
    const seen = new Set(results.map((e) => `${e.split("|")[2]}|${e.split("|")[0]}`));
    for (const t of [...summary.newTransactions, ...summary.modifiedTransactions]) expect(seen).toContain(`${t.contactId}|${t.fired}`);
    // A modified transaction keeps its `fired` (so its id) but gets a new md5.
    for (const t of summary.modifiedTransactions) {
      expect(t.fired < windowStart).toBe(true);
      const oldTransaction = transactionsOf(before.get(t.contactId)!).find((x) => x.fired === t.fired)!;
      const event = results.find((e) => e.startsWith(`${t.fired}|`) && e.includes(`|${t.contactId}|`))!;
      expect(event.split("|")[1]).not.toBe(md5Hex(canonicalJson(oldTransaction)));
    }

    const listed = await allPages<{ id: string; md5: string }>(getJson, `${BASE}/contacts/list?changedSince=2024-03-04&limit=1000`);
    const listedMd5 = new Map(listed.results.map((r) => [r.id, r.md5]));
    for (const id of summary.changedContacts) expect(listedMd5.get(id)).toBe(campaign.contact(id)!.$md5);

    const calls = await allPages<{ id: string }>(getJson, `${BASE}/inbound/calls/?from=${windowStart}&limit=1000`);
    expect(calls.results.map((c) => c.id)).toEqual(expect.arrayContaining(summary.newInboundCalls));
  });

  test("calls in progress end in later ticks; new contacts and new fields appear now and then", () => {
    const { campaign, advance } = setup(100, 9);
    const openBefore = campaign
      .contacts()
      .flatMap(connectionsOf)
      .filter((c) => c.disconnected === undefined).length;
    expect(openBefore).toBeGreaterThan(0);
    const newFields: string[] = [];
    const newContacts: string[] = [];
    for (let i = 0; i < 120; i++) {
      advance(10_000);
      const summary = campaign.tick();
      newFields.push(...summary.newFields);
      newContacts.push(...summary.newContacts);
    }
    expect(newContacts.length).toBeGreaterThan(10);
    expect(campaign.contacts()).toHaveLength(100 + newContacts.length);
    expect(newFields.length).toBeGreaterThan(0);
    const fields = campaign.fields().map((f) => f.name);
    for (const name of newFields) {
      expect(fields).toContain(name);
      expect(campaign.contacts().some((c) => name in c)).toBe(true);
    }
    const connections = campaign.contacts().flatMap(connectionsOf);
    const ended = connections.filter(
      (c) => c.disconnected !== undefined && (c.recordings as { location?: string }[] | undefined)?.some((r) => r.location),
    );
    expect(ended.length).toBeGreaterThan(0);
    for (const contact of campaign.contacts()) {
      const fired = transactionsOf(contact).map((t) => t.fired);
      expect(new Set(fired).size).toBe(fired.length);
    }
  });
});

describe("faults", () => {
  const path = `${BASE}/contacts/list?limit=5`;

  test("errorRate 1 gives 500s, rateLimitRate 1 gives 429 with Retry-After", async () => {
    const { app, faults, request } = setup(10);
    faults.errorRate = 1;
    expect((await request(path)).status).toBe(500);
    expect((await request(`${BASE}/contacts/?include_md5=true`, { method: "POST", body: "[]" })).status).toBe(500);
    faults.errorRate = 0;
    faults.rateLimitRate = 1;
    faults.retryAfterSeconds = 3;
    const limited = await request(path);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("3");
    faults.rateLimitRate = 0;
    expect((await request(path)).status).toBe(200);
    expect(app.stats.count({ outcome: "serverError" })).toBe(2);
    expect(app.stats.count({ endpoint: "contactsFetch", outcome: "serverError" })).toBe(1);
    expect(app.stats.count({ endpoint: "contactsList", outcome: "rateLimited" })).toBe(1);
    expect(app.stats.count({ endpoint: "contactsList", outcome: "ok" })).toBe(1);
    expect(app.stats.count()).toBe(4);
  });

  test("malformedRate 1 gives a 200 whose JSON does not parse", async () => {
    const { app, faults, request } = setup(10);
    faults.malformedRate = 1;
    for (const p of [path, `${BASE}/fields/list`, `${BASE}/contacts/transactions/?from=2024-01-01`]) {
      const response = await request(p);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text.length).toBeGreaterThan(0);
      expect(() => JSON.parse(text)).toThrow();
    }
    expect(app.stats.count({ outcome: "malformed" })).toBe(3);
  });

  test("slowRate 1 delays the answer, and gives up when the client aborts", async () => {
    const { app, faults, request } = setup(10);
    faults.slowRate = 1;
    faults.slowMs = 150;
    let started = performance.now();
    expect((await request(path)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    faults.slowMs = 10_000;
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    started = performance.now();
    await Promise.resolve(request(path, { signal: abort.signal })).catch(() => undefined);
    await Bun.sleep(20);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(app.stats.count({ outcome: "slow" })).toBe(2);
    expect(app.stats.count({ outcome: "aborted" })).toBe(1);
  });

  test("faults never change the data", async () => {
    const calm = setup(30, 4);
    const stormy = setup(30, 4);
    Object.assign(stormy.faults, { errorRate: 0.5, rateLimitRate: 0.3, malformedRate: 0.3 });
    for (let i = 0; i < 20; i++) await stormy.request(path);
    expect(stormy.app.stats.count({ outcome: "ok" })).toBeLessThan(20);
    expect(stormy.campaign.contacts()).toEqual(calm.campaign.contacts());
  });
});

describe("serving over HTTP", () => {
  test("startSimulator serves the API on loopback with background activity, and stops", async () => {
    const sim = startSimulator({ port: 0, contacts: 30, seed: 5, token: TOKEN, campaignId: CID, activityIntervalMs: 10 });
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const headers = { Authorization: `Bearer ${TOKEN}` };
      const list = await fetch(`${sim.url}${BASE}/contacts/list?limit=1000`, { headers });
      expect(list.status).toBe(200);
      const page = (await list.json()) as Page<{ id: string }>;
      expect(page.count).toBeGreaterThanOrEqual(30);
      expect((await fetch(`${sim.url}${BASE}/contacts/list`)).status).toBe(403);

      const since = new Date(Date.now() - 1).toISOString();
      await Bun.sleep(80);
      sim.pauseActivity();
      const events = (await (
        await fetch(`${sim.url}${BASE}/contacts/transactions/?from=${since}&limit=1000`, { headers })
      ).json()) as Page<string>;
      expect(events.count).toBeGreaterThan(0);
      const frozen = sim.campaign.contacts().length;
      await Bun.sleep(50);
      expect(sim.campaign.contacts().length).toBe(frozen);

      const fetched = await fetch(`${sim.url}${BASE}/contacts/?include_md5=true`, {
        method: "POST",
        headers,
        body: JSON.stringify([page.results[0].id]),
      });
      expect(((await fetched.json()) as Contact[])[0].$md5).toBe(sim.campaign.contact(page.results[0].id)!.$md5);

      sim.faults.errorRate = 1;
      expect((await fetch(`${sim.url}${BASE}/fields/list`, { headers })).status).toBe(500);
      expect(sim.stats.count({ endpoint: "fields", outcome: "serverError" })).toBe(1);
      sim.faults.errorRate = 0;

      const port = Number(new URL(sim.url).port);
      expect(() => startSimulator({ port, contacts: 1 })).toThrow(/already in use/);
    } finally {
      await sim.stop();
    }
    await expect(fetch(`${sim.url}${BASE}/fields/list`)).rejects.toThrow();
  });
});
