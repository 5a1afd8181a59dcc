// The HTTP client of the Dialfire REST API: the five endpoints the original uses (field list, contact
// listing, contact fetch, transaction events, inbound calls), with a timeout on every request, bounded
// retries that honour Retry-After, and errors that reach the user instead of the empty pages the
// original's retries returned.
import * as v from "valibot";
import {
  ContactListPageSchema,
  ContactsSchema,
  describeIssues,
  EventPageSchema,
  FieldListSchema,
  InboundCallPageSchema,
} from "./schemas.ts";
import { parseJsonExact } from "../common/exact-json.ts";
import { FatalError } from "../common/fatal-error.ts";
import { networkReason } from "../common/network-errors.ts";
import { backoffMs, DEFAULT_RETRY, parseRetryAfter, type RetryPolicy, sleep } from "../common/retry.ts";
import type {
  CampaignField,
  Contact,
  ContactListItem,
  DialfireSource,
  EventFilters,
  InboundCall,
  TimeWindow,
  TransactionEvent,
} from "../sync/source.ts";

export const DEFAULT_API_URL = "https://api.dialfire.com";
const PAGE_LIMIT = "1000";

export interface DialfireClientOptions {
  baseUrl: string;
  campaign: string;
  token: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  fetch?: typeof fetch;
  /** Told about every failed attempt that will be retried. */
  onRetry?: (info: { path: string; attempt: number; reason: string; waitMs: number }) => void;
  /** Told about every attempt that ended other than by the caller's abort, answered or not (for metrics). */
  onAttempt?: (attempt: ApiAttempt) => void;
}

export interface ApiAttempt {
  /** Method and path below the campaign, without ids: `GET /contacts/list`. */
  endpoint: string;
  /** The answer's HTTP status; undefined when none came (unreachable, timeout). */
  status: number | undefined;
  /** From the request's start to its answer read whole (or to the failure). */
  durationMs: number;
}

/** The token was refused (403): retrying cannot help, the user must fix `--ct`. */
export class DialfireAuthError extends FatalError {
  override name = "DialfireAuthError";
}

/** A request that still failed after the last attempt. */
export class DialfireApiError extends Error {
  override name = "DialfireApiError";
}

/** An answer that is not worth retrying (400, 404, …). */
class PermanentFailure extends Error {}

export function createDialfireClient(options: DialfireClientOptions): DialfireSource {
  const base = parseBaseUrl(options.baseUrl);
  const campaignPath = `/api/campaigns/${encodeURIComponent(options.campaign)}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retry = options.retry ?? DEFAULT_RETRY;
  const doFetch = options.fetch ?? fetch;

  async function request<T>(
    method: "GET" | "POST",
    path: string,
    query: Record<string, string | undefined>,
    body: unknown,
    schema: v.GenericSchema<unknown, T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    const where = `${method} ${url.pathname}`;
    const endpoint = `${method} ${path.startsWith(campaignPath) ? path.slice(campaignPath.length) : path}`;

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let reason: string;
      let retryAfterMs: number | undefined;
      try {
        return await attemptOnce(url, method, endpoint, body, schema, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof DialfireAuthError) throw error;
        if (error instanceof PermanentFailure) throw new DialfireApiError(`${where}: ${error.message}`);
        reason = error instanceof Error ? error.message : String(error);
        retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      }
      if (attempt + 1 >= retry.attempts) {
        throw new DialfireApiError(`${where} failed after ${retry.attempts} attempts: ${reason}`);
      }
      const waitMs = backoffMs(retry, attempt, retryAfterMs);
      options.onRetry?.({ path: url.pathname, attempt: attempt + 1, reason, waitMs });
      await sleep(waitMs, signal);
    }
  }

  async function attemptOnce<T>(
    url: URL,
    method: string,
    endpoint: string,
    body: unknown,
    schema: v.GenericSchema<unknown, T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const began = performance.now();
    const ended = (status: number | undefined) => options.onAttempt?.({ endpoint, status, durationMs: performance.now() - began });
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      // A fresh body per attempt: the original's retries posted an already consumed, empty one.
      response = await doFetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${options.token}`,
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: combined,
      });
      text = await response.text();
    } catch (error) {
      if (!signal?.aborted) ended(undefined);
      if (timeout.aborted && !signal?.aborted) throw new Error(`no answer within ${timeoutMs / 1000} s`);
      throw new Error(`cannot reach ${base.origin}: ${networkReason(error)}`);
    }
    ended(response.status);
    if (response.status === 403 || response.status === 401) {
      throw new DialfireAuthError(
        `the Dialfire API refused the token for campaign ${options.campaign} (${response.status}): ` +
          "check the campaign id (--c) and its Sync Client token (--ct)",
      );
    }
    if (response.status !== 200) {
      const failure =
        response.status >= 500 || response.status === 429 || response.status === 408
          ? new Error(`HTTP ${response.status}`)
          : new PermanentFailure(`HTTP ${response.status} ${snippet(text)}`);
      Object.assign(failure, { retryAfterMs: parseRetryAfter(response.headers.get("retry-after")) });
      throw failure;
    }
    let json: unknown;
    try {
      json = parseJsonExact(text);
    } catch {
      throw new Error(`malformed JSON in the answer (${text.length} bytes)`);
    }
    const parsed = v.safeParse(schema, json);
    if (!parsed.success) throw new Error(`unexpected answer: ${describeIssues(parsed.issues)}`);
    return parsed.output;
  }

  async function* pages<T>(
    path: string,
    query: Record<string, string | undefined>,
    schema: v.GenericSchema<unknown, { results: T[]; cursor: string }>,
    signal?: AbortSignal,
  ): AsyncGenerator<T[]> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const page = await request("GET", path, { ...query, limit: PAGE_LIMIT, cursor }, undefined, schema, signal);
      if (page.results.length > 0) yield page.results;
      if (!page.cursor) return;
      // A cursor handed out twice would page forever.
      if (seen.has(page.cursor)) throw new DialfireApiError(`GET ${path}: the API repeated a page cursor`);
      seen.add(page.cursor);
      cursor = page.cursor;
    }
  }

  return {
    fields: (signal) => request("GET", `${campaignPath}/fields/list`, {}, undefined, FieldListSchema, signal) as Promise<CampaignField[]>,

    listContacts: (changedSince, signal) =>
      pages<ContactListItem>(
        `${campaignPath}/contacts/list`,
        { changedSince: changedSince ? changedSince.slice(0, 10) : undefined },
        ContactListPageSchema,
        signal,
      ),

    fetchContacts: async (ids, signal) =>
      ids.length === 0
        ? []
        : ((await request("POST", `${campaignPath}/contacts/`, { include_md5: "true" }, ids, ContactsSchema, signal)) as Contact[]),

    transactionEvents: (window, filters, signal) => transactionEvents(window, filters, signal),

    inboundCalls: (window, signal) =>
      pages<InboundCall>(
        `${campaignPath}/inbound/calls/`,
        { from: window.from, to: window.to },
        InboundCallPageSchema as v.GenericSchema<unknown, { results: InboundCall[]; cursor: string }>,
        signal,
      ),
  };

  async function* transactionEvents(window: TimeWindow, filters: EventFilters, signal?: AbortSignal): AsyncGenerator<TransactionEvent[]> {
    const query = {
      from: window.from,
      to: window.to,
      type: filters.type,
      hi: filters.hi ? "true" : undefined,
      tasks: filters.tasks || undefined,
    };
    for await (const results of pages<string>(`${campaignPath}/contacts/transactions/`, query, EventPageSchema, signal)) {
      const events: TransactionEvent[] = [];
      for (const line of results) {
        const [time, md5, contactId] = line.split("|");
        if (time && contactId) events.push({ time, md5: md5 ?? "", contactId });
      }
      yield events;
    }
  }
}

function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DialfireApiError(`the API URL "${raw}" is not a valid URL (expected e.g. ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DialfireApiError(`the API URL "${raw}" must start with http:// or https://`);
  }
  return url;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}
