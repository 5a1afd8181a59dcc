// The webhook outbox's tables as each family creates them, kept in step with schema/ by hand (the
// same names, types and indexes). Every statement may run at each start: it creates only what is
// missing. SQLite keeps the form earlier state files have; MySQL compares keys byte for byte (ids are
// case-sensitive) and gets its indexes with the table (it has no CREATE INDEX IF NOT EXISTS).
import type { StateFamily } from "./db.ts";

/** SQLite's and PostgreSQL's tables differ only in these types and in SQLite's tables without rowid. */
interface PortableTypes {
  serialKey: string;
  epochMs: string;
  keyedTable: string;
}

function portableDdl({ serialKey, epochMs, keyedTable }: PortableTypes): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq ${serialKey},
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
  next_attempt_at ${epochMs} NOT NULL DEFAULT 0,
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
)${keyedTable}`,
    `CREATE TABLE IF NOT EXISTS webhook_contacts (
  scope TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  md5 TEXT NOT NULL,
  PRIMARY KEY (scope, contact_id)
)${keyedTable}`,
  ];
}

const MYSQL_TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

const MYSQL = [
  `CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(191) NOT NULL UNIQUE,
  scope VARCHAR(191) NOT NULL,
  campaign VARCHAR(191) NOT NULL,
  url TEXT NOT NULL,
  contact_id VARCHAR(191) NOT NULL,
  transaction_id VARCHAR(191) NOT NULL,
  version INT NOT NULL,
  fired VARCHAR(64),
  state VARCHAR(16) NOT NULL,
  body LONGTEXT NOT NULL,
  signed INT NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  floor VARCHAR(64),
  replayed INT NOT NULL DEFAULT 0,
  created_at VARCHAR(64) NOT NULL,
  failed_at VARCHAR(64),
  INDEX webhook_outbox_line (scope, contact_id, status, seq),
  INDEX webhook_outbox_due (status, next_attempt_at),
  INDEX webhook_outbox_scope_due (scope, status, next_attempt_at)
) ${MYSQL_TABLE}`,
  `CREATE TABLE IF NOT EXISTS webhook_versions (
  scope VARCHAR(191) NOT NULL,
  transaction_id VARCHAR(191) NOT NULL,
  hash VARCHAR(191) NOT NULL,
  version INT NOT NULL,
  PRIMARY KEY (scope, transaction_id)
) ${MYSQL_TABLE}`,
  `CREATE TABLE IF NOT EXISTS webhook_contacts (
  scope VARCHAR(191) NOT NULL,
  contact_id VARCHAR(191) NOT NULL,
  md5 VARCHAR(191) NOT NULL,
  PRIMARY KEY (scope, contact_id)
) ${MYSQL_TABLE}`,
];

export const OUTBOX_DDL: Record<StateFamily, readonly string[]> = {
  sqlite: portableDdl({ serialKey: "INTEGER PRIMARY KEY AUTOINCREMENT", epochMs: "INTEGER", keyedTable: " WITHOUT ROWID" }),
  postgres: portableDdl({ serialKey: "BIGSERIAL PRIMARY KEY", epochMs: "BIGINT", keyedTable: "" }),
  mysql: MYSQL,
};
