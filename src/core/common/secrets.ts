// Comparing a presented secret (a password, a token) with the expected one without the time taken
// telling how much of it matched: both are hashed to the same length, then compared in full.
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

export function sameSecret(presented: string, expected: string): boolean {
  const a = sha256(utf8ToBytes(presented));
  const b = sha256(utf8ToBytes(expected));
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}
