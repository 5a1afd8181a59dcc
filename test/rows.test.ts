import { describe, expect, test } from "bun:test";
import { md5Hex } from "../src/core/common/md5.ts";
import { changedStamp, contactRows, inboundCallRow, passesFilter, selectedTransactions } from "../src/core/sync/rows.ts";
import type { Contact } from "../src/core/sync/source.ts";

const NOW = new Date("2024-03-05T10:00:00.123Z");

// A connection as the API returns it, with its transfer and third-party connection.
function sampleContact(): Contact {
  return {
    $id: "9FJ4T2WQ7XKP3LMA",
    $md5: "3b1f0c9e4d5a6b7c8d9e0f1a2b3c4d5e",
    $ref: "CRM-000123",
    $comment: "",
    firstname: "Erika",
    customer_no: 10023,
    opt_in: true,
    tags: ["a", "b"],
    $task_log: [
      {
        task_name: "fc_first_call",
        transactions: [
          { type: "update", task: "fc_first_call", status: "open", fired: "2024-03-04T08:15:22.412Z", data: { x: 1 } },
          {
            type: "update",
            task: "fc_first_call",
            status: "success",
            fired: "2024-03-04T09:02:40.118Z",
            user: "agent.smith",
            isHI: true,
            connections: [
              {
                id: "CN7R2K9QX4LM8PTW",
                technology: "phone",
                disconnected: "2024-03-04T09:02:31.900Z",
                duration: 89,
                recordings: [
                  { started: "2024-03-04T09:01:02.600Z", location: "recordings/a.mp3" },
                  { started: "2024-03-04T09:01:05.000Z" },
                  { filename: "neither-location-nor-started.mp3" },
                ],
                third_party_connections: [
                  { id: "CN3TPX8WQ2LK7MRA", disconnected: "2024-03-04T09:02:20.000Z", isThirdPartyConnection: true },
                ],
              },
              { id: "CN9XW4T7QL2PK8RM", technology: "transfer", disconnected: "2024-03-04T09:05:10.400Z" },
              { id: "CNINPROGRESS0001", technology: "phone" },
              { technology: "phone", disconnected: "2024-03-04T09:06:00.000Z" },
            ],
          },
        ],
      },
      {
        task_name: "call_back",
        transactions: [{ type: "assign", task: "call_back", fired: "2024-03-04T10:00:00.000Z", user: "bot", status_detail: "$assigned" }],
      },
    ],
  };
}

describe("contactRows", () => {
  const { rows, warnings } = contactRows(sampleContact(), {}, NOW);

  test("contact row keeps the contact's values, without the task log, with $changed", () => {
    expect(rows.contacts).toHaveLength(1);
    const contact = rows.contacts[0] ?? {};
    expect(contact.$id).toBe("9FJ4T2WQ7XKP3LMA");
    expect(contact.customer_no).toBe(10023);
    expect(contact.opt_in).toBe(true);
    expect(contact.tags).toBe('["a","b"]');
    expect(contact.$comment).toBeNull(); // "" is stored as NULL, as the original does
    expect("$task_log" in contact).toBe(false);
    expect(contact.$changed).toBe("2024-03-05T10:00:00Z");
  });

  test("transaction ids are md5(contact id + fired), connections are not a column", () => {
    expect(rows.transactions.map((t) => t.id)).toEqual([
      md5Hex("9FJ4T2WQ7XKP3LMA2024-03-04T08:15:22.412Z"),
      md5Hex("9FJ4T2WQ7XKP3LMA2024-03-04T09:02:40.118Z"),
      md5Hex("9FJ4T2WQ7XKP3LMA2024-03-04T10:00:00.000Z"),
    ]);
    expect(rows.transactions.every((t) => t.contact_id === "9FJ4T2WQ7XKP3LMA")).toBe(true);
    expect("connections" in (rows.transactions[1] ?? {})).toBe(false);
    expect(rows.transactions[0]?.data).toBe('{"x":1}');
  });

  test("connections: third party before its parent, transfer parented to the previous one, unfinished skipped", () => {
    const transactionId = md5Hex("9FJ4T2WQ7XKP3LMA2024-03-04T09:02:40.118Z");
    expect(rows.connections.map((c) => [c.id, c.parent_connection_id ?? null, c.isThirdPartyConnection])).toEqual([
      ["CN3TPX8WQ2LK7MRA", "CN7R2K9QX4LM8PTW", "1"],
      ["CN7R2K9QX4LM8PTW", null, "0"],
      ["CN9XW4T7QL2PK8RM", "CN7R2K9QX4LM8PTW", "0"],
    ]);
    expect(rows.connections.every((c) => c.transaction_id === transactionId && c.contact_id === "9FJ4T2WQ7XKP3LMA")).toBe(true);
    expect("recordings" in (rows.connections[1] ?? {})).toBe(false);
    expect(warnings.map((w) => w.message)).toContain("connection without a string id skipped");
  });

  test("recording ids: md5(connection id + location), else + started; neither is skipped with a warning", () => {
    expect(rows.recordings.map((r) => r.id)).toEqual([
      md5Hex("CN7R2K9QX4LM8PTWrecordings/a.mp3"),
      md5Hex("CN7R2K9QX4LM8PTW2024-03-04T09:01:05.000Z"),
    ]);
    expect(rows.recordings[0]?.connection_id).toBe("CN7R2K9QX4LM8PTW");
    expect(warnings.some((w) => w.message.includes("without location or started"))).toBe(true);
  });

  test("two transactions with the same fired get distinct ids (the original's collided), the first keeps the original's", () => {
    const contact: Contact = {
      $id: "C1",
      $md5: "m",
      $task_log: [{ transactions: [{ fired: "2024-01-01T00:00:00.000Z" }, { fired: "2024-01-01T00:00:00.000Z" }] }],
    };
    const ids = contactRows(contact, {}, NOW).rows.transactions.map((t) => t.id);
    expect(ids[0]).toBe(md5Hex("C12024-01-01T00:00:00.000Z"));
    expect(new Set(ids).size).toBe(2);
  });

  test("ids of transactions sharing fired: numbered after filtering in rows (dbsync2's), over the whole log when stable", () => {
    const fired = "2024-01-01T00:00:00.000Z";
    const contact: Contact = {
      $id: "C1",
      $md5: "m",
      $task_log: [
        {
          transactions: [
            { fired, task: "qc_call" },
            { fired, task: "fc_call" },
          ],
        },
      ],
    };
    const fcOnly = { taskPrefixes: ["fc_"] };
    // The one kept gets dbsync2's id, as in a database dbsync2 wrote with the same filter.
    expect(contactRows(contact, fcOnly, NOW).rows.transactions.map((t) => t.id)).toEqual([md5Hex(`C1${fired}`)]);
    const stable = (filter: { taskPrefixes?: string[] }) =>
      selectedTransactions(contact, filter, { stableIds: true }).find((t) => t.transaction.task === "fc_call")?.transactionId;
    expect(stable(fcOnly)).toBe(stable({}));
  });
});

test("md5 ids are the lowercase hex digests dbsync2 computes", () => {
  expect(md5Hex("abc")).toBe("900150983cd24fb0d6963f7d28e17f72");
  expect(md5Hex("9FJ4T2WQ7XKP3LMA2024-03-04T09:02:40.118Z")).toMatch(/^[0-9a-f]{32}$/);
});

test("a field called __proto__ is a value like any other", () => {
  const contact = JSON.parse('{"$id": "C1", "$md5": "m", "__proto__": "kept"}') as Contact;
  const row = contactRows(contact, {}, NOW).rows.contacts[0] ?? {};
  expect(Object.keys(row)).toContain("__proto__");
  // biome-ignore lint/suspicious/noProto: the test reads a column named __proto__, which the row holds as its own plain property
  expect(row.__proto__).toBe("kept");
});

describe("filters of --fm and --fp", () => {
  const ids = (filter: Parameters<typeof contactRows>[1]) =>
    contactRows(sampleContact(), filter, NOW).rows.transactions.map((t) => t.fired);

  test("updates_only drops other types, keeps missing type", () => {
    expect(ids({ mode: "updates_only" })).toEqual(["2024-03-04T08:15:22.412Z", "2024-03-04T09:02:40.118Z"]);
    expect(passesFilter({ fired: "x" }, { mode: "updates_only" })).toBe(true);
  });

  test("hi_updates_only needs a user and no $assigned", () => {
    expect(ids({ mode: "hi_updates_only" })).toEqual(["2024-03-04T09:02:40.118Z"]);
    expect(passesFilter({ type: "update", user: "u", status_detail: "$assigned" }, { mode: "hi_updates_only" })).toBe(false);
  });

  test("task prefixes; a missing task passes; an empty prefix matches all", () => {
    expect(ids({ taskPrefixes: ["call_"] })).toEqual(["2024-03-04T10:00:00.000Z"]);
    expect(ids({ taskPrefixes: ["qc_"] })).toEqual([]);
    expect(passesFilter({ fired: "x" }, { taskPrefixes: ["qc_"] })).toBe(true);
    expect(ids({ taskPrefixes: ["qc_", ""] })).toHaveLength(3);
  });

  test("the contact row is written whatever the filter", () => {
    expect(contactRows(sampleContact(), { taskPrefixes: ["none_"] }, NOW).rows.contacts).toHaveLength(1);
  });
});

test("inbound call fields are renamed as the original does; numbers survive (the original's writer crashed on them)", () => {
  const row = inboundCallRow(
    {
      id: "IC1",
      calling_number: "+4930123",
      called_number: "+4930555",
      call_time: "2024-03-04T10:15:00.120Z",
      connect_time: "2024-03-04T10:15:09.870Z",
      hangup_time: "2024-03-04T10:19:42.310Z",
      dispatch_error: false,
      wait_seconds: 9.5,
    },
    NOW,
  );
  expect(row).toMatchObject({
    id: "IC1",
    remote_number: "+4930123",
    line_number: "+4930555",
    started: "2024-03-04T10:15:00.120Z",
    connected: "2024-03-04T10:15:09.870Z",
    disconnected: "2024-03-04T10:19:42.310Z",
    dispatch_error: false,
    wait_seconds: 9.5,
    $changed: changedStamp(NOW),
  });
  expect("calling_number" in row).toBe(false);
});
