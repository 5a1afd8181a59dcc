// The flags of webhook delivery, shared by webhook mode (`--a webhook`) and `dbsync webhook replay`.
import type { ArgsDef } from "citty";
import type { WebhookDeliveryConfig } from "../campaign/settings.ts";
import * as v from "valibot";
import { parseWebhookSecret, WebhookSecretError } from "../core/webhook/signature.ts";
import { UsageError } from "./argv.ts";
import { decimal, valueFlag, wholeNumber } from "./flag-schemas.ts";

export const WEBHOOK_DELIVERY_FLAGS = {
  wr: valueFlag("Webhook requests per second (default 5)", "n"),
  wb: valueFlag("Webhook burst (default 2 × wr)", "n"),
  retries: valueFlag("Webhook: attempts per delivery before it is dead-lettered (default 10)", "n"),
  "retry-wait": valueFlag("Webhook: seconds before the second attempt, doubling after each failure up to 10 minutes (default 1)", "s"),
  "webhook-timeout": valueFlag("Webhook: seconds to wait for the receiver's answer (default 30)", "s"),
  "webhook-secret": valueFlag(
    "Webhook: sign deliveries (Standard Webhooks) with this whsec_… secret; better given as DBSYNC_WEBHOOK_SECRET",
    "secret",
  ),
} as const satisfies ArgsDef;

export const WEBHOOK_DELIVERY_SCHEMA = {
  wr: v.optional(wholeNumber("wr", 0, 10_000), "5"),
  wb: v.optional(wholeNumber("wb", 0, 100_000), "0"),
  retries: v.optional(wholeNumber("retries", 1, 100), "10"),
  "retry-wait": v.optional(decimal("retry-wait", "a number of seconds", 0.01, 600), "1"),
  "webhook-timeout": v.optional(decimal("webhook-timeout", "a number of seconds", 0.05, 600, { min: "more than 0" }), "30"),
  "webhook-secret": v.optional(v.string()),
};

type DeliveryFlags = {
  wr: number;
  wb: number;
  retries: number;
  "retry-wait": number;
  "webhook-timeout": number;
  "webhook-secret"?: string;
};

export function webhookDeliveryConfig(f: DeliveryFlags): WebhookDeliveryConfig {
  // 0 means the default, as in the original (its burst default depends on the rate).
  const rate = f.wr > 0 ? f.wr : 5;
  const secret = f["webhook-secret"]?.trim() || undefined;
  let signingKey: Uint8Array | undefined;
  try {
    signingKey = secret ? parseWebhookSecret(secret) : undefined;
  } catch (error) {
    if (error instanceof WebhookSecretError) throw new UsageError(`--webhook-secret: ${error.message}`);
    throw error;
  }
  return {
    rate,
    burst: f.wb > 0 ? f.wb : 2 * rate,
    attempts: f.retries,
    retryWaitSeconds: f["retry-wait"],
    timeoutSeconds: f["webhook-timeout"],
    signingKey,
    secret,
  };
}

/** The receiver's URL: required in webhook mode, absolute http(s). */
export function receiverUrl(raw: string | undefined): string {
  const expected = "the receiver's absolute http(s) URL, like https://example.com/api/transactions/";
  if (raw === undefined) throw new UsageError(`webhook mode needs --url: ${expected}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value is not echoed: it may well hold a password.
    throw new UsageError(`--url in webhook mode must be ${expected}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--url in webhook mode must be ${expected} (not ${url.protocol})`);
  }
  if (url.port === "0") throw new UsageError(`--url in webhook mode names port 0, on which no server listens: ${expected}`);
  return url.href;
}
