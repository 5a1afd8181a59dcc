// The client passes cursors back without URL-encoding them, so they must be URL-safe:
// base64url without padding. A tag per listing keeps a cursor of one endpoint from being
// accepted by another.

export type CursorKind = "contacts" | "events" | "inbound";

/** A request the campaign cannot answer (bad timestamp, foreign cursor, …): HTTP 400. */
export class QueryError extends Error {
  override name = "QueryError";
}

export function encodeCursor(kind: CursorKind, key: string): string {
  const bytes = new TextEncoder().encode(`${kind}|${key}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The key stored in the cursor; throws QueryError when it is not a cursor of this listing. */
export function decodeCursor(kind: CursorKind, cursor: string): string {
  let text: string;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw new QueryError("invalid cursor");
  }
  const prefix = `${kind}|`;
  if (!text.startsWith(prefix)) throw new QueryError("invalid cursor");
  return text.slice(prefix.length);
}
