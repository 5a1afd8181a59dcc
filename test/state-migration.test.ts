// A state file made by the dbsync before the version row (checkpoints, the webhook outbox and the
// phonecalls tokens, each written by hand in SQL) opens with the store of every family's drizzle
// schema: every row kept and read back through the store, the new tables added, the version row
// written; a store made by a newer dbsync is refused.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { SCHEMA_VERSION } from "../src/core/state/migrate.ts";
import { StateError } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { runTablesConformance } from "./state-leases-conformance.ts";

/** The statements the earlier dbsync created its state file with, exactly. */
const EARLIER_DDL = [
  `CREATE TABLE IF NOT EXISTS checkpoints (
  campaign TEXT NOT NULL,
  mode TEXT NOT NULL,
  target TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (campaign, mode, target)
)`,
  `CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  campaign TEXT NOT NULL,
  url TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  fired TEXT,
  state TEXT NOT NULL,
  body TEXT NOT NULL,
  signed INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  floor TEXT,
  replayed INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  failed_at TEXT
)`,
  "CREATE INDEX IF NOT EXISTS webhook_outbox_line ON webhook_outbox (scope, contact_id, status, seq)",
  "CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (status, next_attempt_at)",
  "CREATE INDEX IF NOT EXISTS webhook_outbox_scope_due ON webhook_outbox (scope, status, next_attempt_at)",
  `CREATE TABLE IF NOT EXISTS webhook_versions (
  scope TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (scope, transaction_id)
) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS webhook_contacts (
  scope TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  md5 TEXT NOT NULL,
  PRIMARY KEY (scope, contact_id)
) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS phonecall_tokens (
  id TEXT NOT NULL PRIMARY KEY,
  label TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
)`,
];

const ROWS = [
  `INSERT INTO checkpoints VALUES ('C1', 'db_sync', 'file:/data/calls.db|dfire_', '2026-01-02T03:04:05.000Z', '2026-01-02T03:05:00.000Z')`,
  `INSERT INTO checkpoints VALUES ('C1', 'webhook', '', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z')`,
  `INSERT INTO webhook_outbox (id, scope, campaign, url, contact_id, transaction_id, version, fired, state, body, signed, status, attempts,
     next_attempt_at, last_error, floor, replayed, created_at, failed_at)
   VALUES ('msg_pending', 'C1', 'C1', 'https://receiver.example/hook', 'k1', 't1', 2, '2026-01-02T00:00:00.000Z', 'updated', '{"v":2}', 1,
     'pending', 0, 0, NULL, '2026-01-01T00:00:00.000Z', 0, '2026-01-02T00:00:01.000Z', NULL)`,
  `INSERT INTO webhook_outbox (id, scope, campaign, url, contact_id, transaction_id, version, fired, state, body, signed, status, attempts,
     next_attempt_at, last_error, floor, replayed, created_at, failed_at)
   VALUES ('msg_dead', 'C1', 'C1', 'https://receiver.example/hook', 'k2', 't2', 1, NULL, 'new', '{"v":1}', 0,
     'failed', 8, 0, 'the receiver answered 500', '2026-01-01T00:00:00.000Z', 0, '2026-01-02T00:00:02.000Z', '2026-01-02T01:00:00.000Z')`,
  `INSERT INTO webhook_versions VALUES ('C1', 't1', 'hash-t1-v2', 2), ('C1', 't2', 'hash-t2-v1', 1)`,
  `INSERT INTO webhook_contacts VALUES ('C1', 'k1', 'md5-k1'), ('C1', 'k2', 'md5-k2')`,
  `INSERT INTO phonecall_tokens VALUES ('tok_aaaaaaaaaaaa', 'crm', '${"a".repeat(64)}', '2026-01-01T00:00:00.000Z', NULL)`,
  `INSERT INTO phonecall_tokens VALUES ('tok_bbbbbbbbbbbb', 'old', '${"b".repeat(64)}', '2025-01-01T00:00:00.000Z', '2025-06-01T00:00:00.000Z')`,
];

const dir = mkdtempSync(join(tmpdir(), "dbsync-state-migration-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function earlierFile(name: string): Promise<string> {
  const url = `file:${join(dir, name)}`;
  const client = createClient({ url });
  await client.batch([...EARLIER_DDL, ...ROWS], "write");
  client.close();
  return url;
}

async function storedVersion(url: string): Promise<number> {
  const client = createClient({ url });
  try {
    return Number((await client.execute("SELECT version FROM state_schema WHERE id = 1")).rows[0]?.version);
  } finally {
    client.close();
  }
}

const migrated = await earlierFile("tables.db");
runTablesConformance("a state file of the earlier dbsync", () => openStateStore(migrated), migrated);

describe("a state file of the earlier dbsync", () => {
  test("opens with every row kept and read back through the store", async () => {
    const url = await earlierFile("kept.db");
    const store = await openStateStore(url);
    try {
      expect(await store.getCheckpoint({ campaign: "C1", mode: "db_sync", target: "file:/data/calls.db|dfire_" })).toEqual({
        value: "2026-01-02T03:04:05.000Z",
        updatedAt: "2026-01-02T03:05:00.000Z",
      });
      expect(await store.listCheckpoints()).toHaveLength(2);

      const [pending, ...others] = await store.outbox.due({ scope: { campaign: "C1" } }, Date.now(), 10);
      expect(others).toEqual([]);
      expect(pending).toMatchObject({
        id: "msg_pending",
        contactId: "k1",
        transactionId: "t1",
        version: 2,
        state: "updated",
        body: '{"v":2}',
        signed: true,
        status: "pending",
      });
      const [dead] = await store.outbox.failed({ campaign: "C1" });
      expect(dead).toMatchObject({
        id: "msg_dead",
        attempts: 8,
        lastError: "the receiver answered 500",
        failedAt: "2026-01-02T01:00:00.000Z",
      });
      expect(await store.outbox.knownContactMd5({ campaign: "C1" }, ["k1", "k2"])).toEqual(
        new Map([
          ["k1", "md5-k1"],
          ["k2", "md5-k2"],
        ]),
      );
      // The recorded version hashes still tell a version already sent from a new one.
      const again = { contactId: "k1", transactionId: "t1", hash: "hash-t1-v2", history: false, body: () => "{}" };
      expect(
        await store.outbox.enqueue({ campaign: "C1" }, [again], [], {
          url: "https://receiver.example/hook",
          floor: undefined,
          signed: true,
        }),
      ).toEqual({ new: 0, updated: 0, skipped: 1 });

      expect((await store.tokens.list()).map((token) => [token.id, token.label, token.revokedAt])).toEqual([
        ["tok_bbbbbbbbbbbb", "old", "2025-06-01T00:00:00.000Z"],
        ["tok_aaaaaaaaaaaa", "crm", null],
      ]);
      expect(await store.tokens.activeHashes()).toEqual(["a".repeat(64)]);

      // The tables it lacked are there.
      expect(await store.leases.acquire("C1|db_sync", "replica-a", 30_000)).toMatchObject({ owner: "replica-a", token: 1 });
    } finally {
      await store.close();
    }
    expect(await storedVersion(url)).toBe(SCHEMA_VERSION);
  });

  test("opening it again changes nothing", async () => {
    const url = await earlierFile("twice.db");
    await (await openStateStore(url)).close();
    const store = await openStateStore(url);
    try {
      expect(await store.listCheckpoints()).toHaveLength(2);
      expect(await store.tokens.activeHashes()).toEqual(["a".repeat(64)]);
    } finally {
      await store.close();
    }
    expect(await storedVersion(url)).toBe(SCHEMA_VERSION);
  });
});

test("a store made by a newer dbsync is refused in one line, untouched", async () => {
  const url = `file:${join(dir, "newer.db")}`;
  const client = createClient({ url });
  await client.batch([
    "CREATE TABLE state_schema (id INTEGER NOT NULL PRIMARY KEY, version INTEGER NOT NULL)",
    "INSERT INTO state_schema VALUES (1, 99)",
  ]);
  client.close();
  const error = await openStateStore(url).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(StateError);
  expect(error?.message).toContain("newer dbsync");
  expect(error?.message).not.toContain("\n");
  expect(await storedVersion(url)).toBe(99);
});
