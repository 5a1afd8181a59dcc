// Web Crypto has no MD5, yet the original client's row ids are MD5 hex digests (md5(contact id + fired), …).
import { md5 } from "@noble/hashes/legacy.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

export function md5Hex(text: string): string {
  return bytesToHex(md5(utf8ToBytes(text)));
}
