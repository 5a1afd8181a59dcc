// The state store's tables for SQLite and libSQL (files, sqld, Turso). The same tables, column names
// and meanings as pg.ts and mysql.ts; only the types differ by family. Times the code compares are
// epoch milliseconds (integers); times a person reads are ISO 8601 text.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const checkpoints = sqliteTable(
  "checkpoints",
  {
    campaign: text("campaign").notNull(),
    mode: text("mode").notNull(),
    target: text("target").notNull(),
    value: text("value").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaign, t.mode, t.target] })],
);

export const webhookOutbox = sqliteTable(
  "webhook_outbox",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull().unique(),
    scope: text("scope").notNull(),
    campaign: text("campaign").notNull(),
    url: text("url").notNull(),
    contactId: text("contact_id").notNull(),
    transactionId: text("transaction_id").notNull(),
    version: integer("version").notNull(),
    fired: text("fired"),
    state: text("state").notNull(),
    body: text("body").notNull(),
    signed: integer("signed").notNull(),
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull().default(0),
    lastError: text("last_error"),
    floor: text("floor"),
    replayed: integer("replayed").notNull().default(0),
    createdAt: text("created_at").notNull(),
    failedAt: text("failed_at"),
  },
  (t) => [
    index("webhook_outbox_line").on(t.scope, t.contactId, t.status, t.seq),
    index("webhook_outbox_due").on(t.status, t.nextAttemptAt),
    index("webhook_outbox_scope_due").on(t.scope, t.status, t.nextAttemptAt),
  ],
);

export const webhookVersions = sqliteTable(
  "webhook_versions",
  {
    scope: text("scope").notNull(),
    transactionId: text("transaction_id").notNull(),
    hash: text("hash").notNull(),
    version: integer("version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.transactionId] })],
);

export const webhookContacts = sqliteTable(
  "webhook_contacts",
  {
    scope: text("scope").notNull(),
    contactId: text("contact_id").notNull(),
    md5: text("md5").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.contactId] })],
);

export const phonecallTokens = sqliteTable("phonecall_tokens", {
  id: text("id").notNull().primaryKey(),
  label: text("label").notNull(),
  hash: text("hash").notNull().unique(),
  createdAt: text("created_at").notNull(),
  revokedAt: text("revoked_at"),
});

/** Who runs a campaign now: one row per campaign key, its token counting every change of owner. */
export const leases = sqliteTable("leases", {
  name: text("name").notNull().primaryKey(),
  owner: text("owner").notNull(),
  /** The fencing token: grows with every change of owner, never goes back. */
  token: integer("token").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/** The `dbsync run` processes sharing the store, each renewing its heartbeat. */
export const replicas = sqliteTable("replicas", {
  id: text("id").notNull().primaryKey(),
  host: text("host").notNull(),
  pid: integer("pid").notNull(),
  startedAt: integer("started_at").notNull(),
  heartbeatAt: integer("heartbeat_at").notNull(),
  /** 1 once it stopped cleanly (its leases handed over). */
  stopped: integer("stopped").notNull().default(0),
  /** A hash of the campaigns of its config file: replicas share only with those running the same file. */
  campaigns: text("campaigns").notNull().default(""),
});

/** What a campaign of a `dbsync run` is doing, as its owner last said: for `dbsync status`. */
export const campaignStatus = sqliteTable("campaign_status", {
  name: text("name").notNull().primaryKey(),
  campaign: text("campaign").notNull(),
  mode: text("mode").notNull(),
  owner: text("owner"),
  state: text("state").notNull(),
  lastError: text("last_error"),
  /** A hash of the settings it ran with: a finished db_init is not run again by another replica unless they changed. */
  settings: text("settings"),
  since: integer("since").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Campaigns an operator paused: their owner keeps the lease and runs nothing until they are resumed. */
export const campaignPauses = sqliteTable("campaign_pauses", {
  name: text("name").notNull().primaryKey(),
  pausedAt: integer("paused_at").notNull(),
});

/** Rows written per campaign and minute, kept for a day: rows per hour and the charts of the status page. */
export const campaignActivity = sqliteTable(
  "campaign_activity",
  {
    name: text("name").notNull(),
    minute: integer("minute").notNull(),
    rowsWritten: integer("rows_written").notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.minute] })],
);

/** Which version of these tables the store has: opening migrates an older one in place. */
export const stateSchema = sqliteTable("state_schema", {
  id: integer("id").notNull().primaryKey(),
  version: integer("version").notNull(),
});
