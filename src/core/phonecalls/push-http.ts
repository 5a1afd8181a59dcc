// `phonecalls push` over HTTP: the client of the phonecalls service's create route (a `dbsync serve`
// or NiMbox), a form POST per call. Web-standard fetch only.
import { networkReason } from "../common/network-errors.ts";
import { parseRetryAfter } from "../common/retry.ts";
import { TargetError } from "../sql/dialect.ts";
import { callParams, type NewPhonecall } from "./phonecalls.ts";
import { PushAuthError, rejectionReason, type Sender, type SendTry, sendWithRetries } from "./push.ts";

const CREATE_PATH = "direct/items/phonecalls/create";
const REQUEST_TIMEOUT_MS = 30_000;

type ServiceAnswer = { error?: unknown; errors?: unknown; created?: unknown } | undefined;

/** 5xx, 429 and network failures are tried again; rejections and other 4xx are not. */
export function httpSender(target: URL, token: string, signal: AbortSignal): Sender {
  const endpoint = new URL(CREATE_PATH, target);
  return (call) => sendWithRetries(() => postCall(endpoint, target, token, call, signal), signal);
}

async function postCall(endpoint: URL, target: URL, token: string, call: NewPhonecall, signal: AbortSignal): Promise<SendTry> {
  const form = new URLSearchParams({ token, ...callParams(call) });
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      body: form,
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  } catch (cause) {
    signal.throwIfAborted();
    return { kind: "again", error: `cannot reach ${target.host}: ${networkReason(cause)}` };
  }
  if (response.status === 401) throw new PushAuthError("the target refused the token (HTTP 401)");
  const body = (await response.json().catch(() => undefined)) as ServiceAnswer;
  if (response.ok && body?.error === false) return { kind: body.created === false ? "present" : "created" };
  const transient = response.status >= 500 || response.status === 429;
  if (body?.error === true && typeof body.errors === "object" && body.errors && !transient) {
    return { kind: "rejected", reason: rejectionReason(body.errors as Record<string, unknown>) };
  }
  const error = `HTTP ${response.status}${body ? "" : ", not the service's JSON"}`;
  // Another 4xx will not change by asking again.
  if (!transient) return { kind: "failed", error };
  // A server building its index, or overloaded, says when to come back.
  return { kind: "again", error, retryAfterMs: parseRetryAfter(response.headers.get("retry-after")) };
}

/** One request before the run: a target that is down or refuses the token stops it with one line. */
export async function checkTarget(target: URL, token: string, signal: AbortSignal): Promise<void> {
  const probe = new URL(CREATE_PATH, target);
  probe.searchParams.set("token", token);
  let response: Response;
  try {
    response = await fetch(probe, { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });
  } catch (error) {
    throw new TargetError(`cannot reach the target ${target.origin}: ${networkReason(error)}`);
  }
  if (response.status === 401) throw new PushAuthError("the target refused the token (HTTP 401)");
  // Without call parameters the service answers its JSON error; anything else is not the service.
  const body = (await response.json().catch(() => undefined)) as ServiceAnswer;
  if (typeof body?.error !== "boolean") {
    throw new TargetError(`${target.href} is not a phonecalls service (HTTP ${response.status} to ${probe.pathname}); check --target`);
  }
}
