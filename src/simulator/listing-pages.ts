// The listings of the API page in a fixed order with an opaque cursor: what a query may ask, and
// how a page is cut from an index so that a cursor is handed out only when more results follow.
import { decodeCursor, encodeCursor, type CursorKind, QueryError } from "./cursor.ts";
import type { DayIndex } from "./day-index.ts";
import { isoTime, parseApiTimestamp } from "./time.ts";

export interface Page<T> {
  results: T[];
  /** "" on the last page. */
  cursor: string;
}

export interface ContactListQuery {
  /** Day granularity: contacts whose change date is on or after this day. Any API timestamp shape. */
  changedSince?: string;
  cursor?: string;
  limit: number;
}

export interface WindowQuery {
  /** Inclusive; "" or absent = from the beginning. */
  from?: string;
  /** Exclusive; "" or absent = now. */
  to?: string;
  cursor?: string;
  limit: number;
}

export interface EventQuery extends WindowQuery {
  /** Only transactions of this `type`. */
  type?: string;
  /** Only human interactions: `user` set and `status_detail` not `$assigned` (the same rule the client applies). */
  hi?: boolean;
  /** Comma-separated task-name prefixes; an empty part matches every task. */
  tasks?: string;
}

/** The items of `index` whose key lies in the query's [from, to), after its cursor. */
export function windowPage<T, R>(
  index: DayIndex<T>,
  kind: "events" | "inbound",
  query: WindowQuery,
  now: () => Date,
  map: (item: T) => R | undefined,
): Page<R> {
  const from = query.from ? isoTime(parseTime(query.from, "from")) : "";
  const to = isoTime(query.to ? parseTime(query.to, "to") : now().getTime());
  const after = query.cursor ? decodeCursor(kind, query.cursor) : "";
  const entries = after > from ? index.scan(after, true) : index.scan(from);
  return page(
    takeWhile(entries, (key) => key < to),
    kind,
    query.limit,
    map,
  );
}

/** Up to `limit` results, and a cursor only when at least one more result follows. */
export function page<T, R>(
  entries: Iterable<{ key: string; item: T }>,
  kind: CursorKind,
  limit: number,
  map: (item: T) => R | undefined,
): Page<R> {
  const results: R[] = [];
  let lastKey = "";
  for (const { key, item } of entries) {
    const result = map(item);
    if (result === undefined) continue;
    if (results.length === limit) return { results, cursor: encodeCursor(kind, lastKey) };
    results.push(result);
    lastKey = key;
  }
  return { results, cursor: "" };
}

function* takeWhile<T extends { key: string }>(entries: Iterable<T>, accept: (key: string) => boolean): Generator<T> {
  for (const entry of entries) {
    if (!accept(entry.key)) return;
    yield entry;
  }
}

export function parseTime(text: string, name: string): number {
  const ms = parseApiTimestamp(text);
  if (ms === undefined) throw new QueryError(`${name}: not a timestamp: ${JSON.stringify(text)}`);
  return ms;
}
