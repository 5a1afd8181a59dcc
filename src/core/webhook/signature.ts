// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is `v1,` and
// the base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the base64-decoded secret (`whsec_…`),
// so receivers can verify with any of the scheme's libraries.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

export class WebhookSecretError extends Error {
  override name = "WebhookSecretError";
}

const MIN_KEY_BYTES = 16;

/** The key of a secret written as `whsec_<base64>` (or plain base64). */
export function parseWebhookSecret(secret: string): Uint8Array {
  const encoded = secret.trim().replace(/^whsec_/, "");
  let key: Uint8Array | undefined;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && encoded.length % 4 === 0) {
    key = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  }
  if (!key || key.length < MIN_KEY_BYTES) {
    throw new WebhookSecretError(
      `the webhook secret must be whsec_ followed by base64 of at least ${MIN_KEY_BYTES} random bytes, ` +
        "as Standard Webhooks secrets are (make one with: echo whsec_$(openssl rand -base64 32))",
    );
  }
  return key;
}

/** The `webhook-signature` header value for one attempt. */
export function signWebhook(key: Uint8Array, id: string, timestampSeconds: number, body: string): string {
  const mac = hmac(sha256, key, utf8ToBytes(`${id}.${timestampSeconds}.${body}`));
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return `v1,${btoa(binary)}`;
}
