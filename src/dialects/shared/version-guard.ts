// The condition under which an upsert may replace a stored row by the incoming one, in SQL every
// database here reads alike. It keeps a replica that was paused and woke up after losing its campaign
// from writing an older version of a row over the newer one the new owner wrote meanwhile.

/**
 * The one form of version the guard orders: `YYYY-MM-DDThh:mm:ssZ`, as the sync (and dbsync2 before
 * it) writes `$changed`. Values of this form have one width, UTC and their digits in the same places,
 * so their text order is their time order under any collation. A LIKE pattern, because LIKE with `_`
 * means the same in SQLite, PostgreSQL, MySQL and SQL Server.
 */
const VERSION_FORM = "'____-__-__T__:__:__Z'";

/**
 * True (never NULL) unless the stored version is newer than the incoming one. Equal replaces, so that
 * writing a batch again after a crash still repairs its rows (and of two writes within one second the
 * later wins, as without a guard). A NULL stored version (rows of dbsync2 before 1.15, which had no
 * `$changed`) is replaced. A NULL incoming one replaces too: such a row cannot be ordered, and refusing
 * it would keep its data out for good; the sync stamps every row, so only another writer sends none.
 * Values of another form (milliseconds, an offset, a blank another tool left) are not compared by
 * text, which could order them wrongly and keep a row stale for good: they are replaced, as before.
 */
export function mayReplace(stored: string, incoming: string): string {
  return (
    `(${stored} IS NULL OR ${incoming} IS NULL OR ${incoming} >= ${stored} ` +
    `OR ${stored} NOT LIKE ${VERSION_FORM} OR ${incoming} NOT LIKE ${VERSION_FORM})`
  );
}
