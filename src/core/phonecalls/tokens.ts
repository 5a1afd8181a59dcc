// Tokens of the phonecalls web service: kept only as SHA-256 hashes (in the state store, or from
// DBSYNC_PHONECALLS_TOKENS), and checked against every known hash in constant time.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

export interface TokenRecord {
  id: string;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface TokenStore {
  /** Makes a new token; the token itself is returned only here, never stored. */
  add(label: string): Promise<{ record: TokenRecord; token: string }>;
  list(): Promise<TokenRecord[]>;
  /** Revokes the token with this id or label; returns how many were revoked. */
  revoke(idOrLabel: string): Promise<number>;
  /** Hashes of the tokens not revoked. */
  activeHashes(): Promise<string[]>;
}

/** The tokens of a comma-separated list such as `DBSYNC_PHONECALLS_TOKENS`. */
export function tokenList(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((token) => token.trim())
    .filter(Boolean);
}

export function hashToken(token: string): string {
  return bytesToHex(sha256(utf8ToBytes(token)));
}

/** A new random token: `dbs_` and 43 characters of base64url (256 bits). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `dbs_${btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/** Whether `presented` is one of the tokens behind `hashes`; every hash is compared, in full. */
export function tokenMatches(presented: string, hashes: readonly string[]): boolean {
  const mine = sha256(utf8ToBytes(presented));
  let found = 0;
  for (const hash of hashes) {
    const theirs = hexToBytes(hash);
    let difference = theirs.length ^ mine.length;
    for (let i = 0; i < mine.length; i++) difference |= (mine[i] as number) ^ ((theirs[i] ?? 0) as number);
    found |= difference === 0 ? 1 : 0;
  }
  return found === 1;
}
