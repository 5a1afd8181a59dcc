// The webhook outbox until it runs on every family: a libSQL store keeps the libSQL outbox, on the
// same client as the rest of the store and in the same queue (a second writer on a local file while
// a transaction is open would block the whole process); on PostgreSQL and MySQL every use of the
// outbox is refused in words. Once createOutbox(db) runs on any StateDb, open.ts opens the session
// with openDialect and passes createOutbox, and this file goes.
import { createClient } from "@libsql/client";
import { Serial } from "../core/common/serial.ts";
import type { SqlSession } from "../core/sql/dialect.ts";
import type { StateFamily } from "../core/state/db.ts";
import { LibsqlOutbox } from "../core/state/outbox-libsql.ts";
import { StateError } from "../core/state/state.ts";
import type { OutboxFactory } from "../core/state/store.ts";
import type { WebhookOutbox } from "../core/webhook/outbox.ts";
import { openDialect } from "../dialects/index.ts";
import { BUSY_TIMEOUT_MS, libsqlDialect, targetError } from "../dialects/sqlite/libsql.ts";
import { checkLibsqlUrl, requireFolder } from "../dialects/sqlite/libsql-node.ts";

export async function openSessionAndOutbox(url: string, family: StateFamily): Promise<{ session: SqlSession; outboxOf: OutboxFactory }> {
  if (family !== "sqlite") return { session: await openDialect(url), outboxOf: () => outboxNotYet(family) };
  const parsed = checkLibsqlUrl(url.trim());
  if (parsed.filePath !== undefined) await requireFolder(parsed);
  let client: ReturnType<typeof createClient>;
  try {
    client = createClient({ url: parsed.clientUrl, authToken: parsed.authToken, intMode: "bigint", timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw targetError(parsed.safeUrl, "cannot open the database", error, parsed.clientUrl);
  }
  const serial = new Serial();
  const outbox = new LibsqlOutbox(client, parsed.safeUrl, serial);
  return { session: inQueue(await libsqlDialect(client, parsed), serial), outboxOf: () => outbox };
}

/** The session's statements in the queue the outbox uses too. */
function inQueue(session: SqlSession, serial: Serial): SqlSession {
  return {
    safeUrl: session.safeUrl,
    run: (text, params) => serial.run(() => session.run(text, params)),
    all: <T>(text: string, params?: Parameters<SqlSession["all"]>[1]) => serial.run(() => session.all<T>(text, params)),
    runCounted: (text, params) => serial.run(() => session.runCounted(text, params)),
    transaction: (work) => serial.run(() => session.transaction(work)),
    close: () => serial.run(() => session.close()),
  };
}

function outboxNotYet(family: StateFamily): WebhookOutbox {
  const refuse = () =>
    Promise.reject(new StateError(`the webhook outbox is not yet kept on ${family}: use a libSQL state store for webhook mode`));
  return new Proxy({} as WebhookOutbox, { get: (_, property) => (property === "then" ? undefined : refuse) });
}
