// What the server databases answer when writers collide, read from the driver's error among the
// causes: a transaction rolled back to break a deadlock (begin it again), and a row lock that was not
// to be waited for (someone else has it now).

/** Deadlock (PostgreSQL 40P01, MySQL/MariaDB ER_LOCK_DEADLOCK) or serialization failure (40001). */
const CONFLICT_CODES = new Set(["40001", "40P01", "ER_LOCK_DEADLOCK"]);
/** PostgreSQL's lock_not_available, MySQL's NOWAIT refusal, MariaDB's ended lock wait. */
const BUSY_CODES = new Set(["55P03", "ER_LOCK_NOWAIT", "ER_LOCK_WAIT_TIMEOUT"]);
const BUSY_ERRNOS = new Set([3572, 1205]);

/** Whether the database rolled the transaction back to break a deadlock: beginning it again is safe. */
export function endedByConflict(error: unknown): boolean {
  return someCause(error, ({ code, sqlState }) => CONFLICT_CODES.has(String(code)) || sqlState === "40001");
}

/** Whether a lock the statement would have waited for is held by another transaction. */
export function lockBusy(error: unknown): boolean {
  return someCause(error, ({ code, errno }) => BUSY_CODES.has(String(code)) || BUSY_ERRNOS.has(Number(errno)));
}

function someCause(error: unknown, test: (fields: { code?: unknown; sqlState?: unknown; errno?: unknown }) => boolean): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 10; cause = cause.cause, depth++) {
    if (test(cause as { code?: unknown })) return true;
  }
  return false;
}
