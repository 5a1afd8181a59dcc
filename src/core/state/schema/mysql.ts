// The state store's tables for MySQL and MariaDB. The same tables, column names and meanings as
// sqlite.ts and pg.ts; only the types differ by family: keys are bounded varchar (an index needs a
// length), epoch milliseconds are 64-bit. Times the code compares are epoch milliseconds (integers);
// times a person reads are ISO 8601 text. Every text column compares byte for byte (ids are
// case-sensitive, "a" and "a " differ): the tables are created with a binary collation (ddl.ts).
import { bigint, index, int, longtext, mysqlTable, primaryKey, text, varchar } from "drizzle-orm/mysql-core";

/**
 * A key column. utf8mb4 takes up to 4 bytes a character and an InnoDB index at most 3,072 bytes, so
 * the columns of one key add up to at most 768 characters.
 */
const key = (name: string, length = 191) => varchar(name, { length });
/** A campaign's key (campaign, mode and target together): the longest one index can hold beside a 64-bit minute. */
const CAMPAIGN_KEY = 760;

export const checkpoints = mysqlTable(
  "checkpoints",
  {
    campaign: key("campaign").notNull(),
    mode: key("mode", 32).notNull(),
    target: key("target", 512).notNull(),
    value: text("value").notNull(),
    updatedAt: key("updated_at", 64).notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaign, t.mode, t.target] })],
);

export const webhookOutbox = mysqlTable(
  "webhook_outbox",
  {
    seq: bigint("seq", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    id: key("id").notNull().unique(),
    scope: key("scope").notNull(),
    campaign: key("campaign").notNull(),
    url: text("url").notNull(),
    contactId: key("contact_id").notNull(),
    transactionId: key("transaction_id").notNull(),
    version: int("version").notNull(),
    fired: key("fired", 64),
    state: key("state", 16).notNull(),
    body: longtext("body").notNull(),
    signed: int("signed").notNull(),
    status: key("status", 16).notNull().default("pending"),
    attempts: int("attempts").notNull().default(0),
    nextAttemptAt: bigint("next_attempt_at", { mode: "number" }).notNull().default(0),
    lastError: text("last_error"),
    floor: key("floor", 64),
    replayed: int("replayed").notNull().default(0),
    createdAt: key("created_at", 64).notNull(),
    failedAt: key("failed_at", 64),
  },
  (t) => [
    index("webhook_outbox_line").on(t.scope, t.contactId, t.status, t.seq),
    index("webhook_outbox_due").on(t.status, t.nextAttemptAt),
    index("webhook_outbox_scope_due").on(t.scope, t.status, t.nextAttemptAt),
  ],
);

export const webhookVersions = mysqlTable(
  "webhook_versions",
  {
    scope: key("scope").notNull(),
    transactionId: key("transaction_id").notNull(),
    hash: key("hash").notNull(),
    version: int("version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.transactionId] })],
);

export const webhookContacts = mysqlTable(
  "webhook_contacts",
  {
    scope: key("scope").notNull(),
    contactId: key("contact_id").notNull(),
    md5: key("md5").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.contactId] })],
);

export const phonecallTokens = mysqlTable("phonecall_tokens", {
  id: key("id").notNull().primaryKey(),
  label: key("label").notNull(),
  hash: key("hash").notNull().unique(),
  createdAt: key("created_at", 64).notNull(),
  revokedAt: key("revoked_at", 64),
});

/** Who runs a campaign now: one row per campaign key, its token counting every change of owner. */
export const leases = mysqlTable("leases", {
  name: key("name", CAMPAIGN_KEY).notNull().primaryKey(),
  owner: key("owner").notNull(),
  /** The fencing token: grows with every change of owner, never goes back. */
  token: bigint("token", { mode: "number" }).notNull(),
  expiresAt: bigint("expires_at", { mode: "number" }).notNull(),
});

/** The `dbsync run` processes sharing the store, each renewing its heartbeat. */
export const replicas = mysqlTable("replicas", {
  id: key("id").notNull().primaryKey(),
  host: key("host").notNull(),
  pid: int("pid").notNull(),
  startedAt: bigint("started_at", { mode: "number" }).notNull(),
  heartbeatAt: bigint("heartbeat_at", { mode: "number" }).notNull(),
  /** 1 once it stopped cleanly (its leases handed over). */
  stopped: int("stopped").notNull().default(0),
  /** A hash of the campaigns of its config file: replicas share only with those running the same file. */
  campaigns: key("campaigns", 64).notNull().default(""),
});

/** What a campaign of a `dbsync run` is doing, as its owner last said: for `dbsync status`. */
export const campaignStatus = mysqlTable("campaign_status", {
  name: key("name", CAMPAIGN_KEY).notNull().primaryKey(),
  campaign: key("campaign").notNull(),
  mode: key("mode", 32).notNull(),
  owner: key("owner"),
  state: key("state", 16).notNull(),
  lastError: text("last_error"),
  /** A hash of the settings it ran with: a finished db_init is not run again by another replica unless they changed. */
  settings: key("settings", 64),
  since: bigint("since", { mode: "number" }).notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }).notNull(),
});

/** Campaigns an operator paused: their owner keeps the lease and runs nothing until they are resumed. */
export const campaignPauses = mysqlTable("campaign_pauses", {
  name: key("name", CAMPAIGN_KEY).notNull().primaryKey(),
  pausedAt: bigint("paused_at", { mode: "number" }).notNull(),
});

/** Rows written per campaign and minute, kept for a day: rows per hour and the charts of the status page. */
export const campaignActivity = mysqlTable(
  "campaign_activity",
  {
    name: key("name", CAMPAIGN_KEY).notNull(),
    minute: bigint("minute", { mode: "number" }).notNull(),
    rowsWritten: bigint("rows_written", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.minute] })],
);

/** Which version of these tables the store has: opening migrates an older one in place. */
export const stateSchema = mysqlTable("state_schema", {
  id: int("id").notNull().primaryKey(),
  version: int("version").notNull(),
});
