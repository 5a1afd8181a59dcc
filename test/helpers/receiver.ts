// A webhook receiver on 127.0.0.1 for tests: records every request it gets, verifies signatures with
// the independent `standardwebhooks` library, and misbehaves on demand (random 500s, answers that
// hang past the sender's timeout, 429 with Retry-After, down for good).
import { Webhook } from "standardwebhooks";
import { canonicalJson } from "../../src/core/sync/canonical-json.ts";
import { seededRandom } from "./random.ts";

export interface ReceivedDelivery {
  id: string;
  timestamp: string;
  /** true/false when a secret was given to the receiver, undefined otherwise. */
  signatureValid?: boolean;
  contentType: string | null;
  body: string;
  state: string;
  contactId: string;
  fired: string;
  /** Canonical JSON of the transaction as received. */
  transaction: string;
  /** What the receiver answered; 0 while it has not (yet) answered. */
  status: number;
  /** When the request arrived and when it was answered (epoch ms; 0 = not answered). */
  receivedAt: number;
  answeredAt: number;
  /** Held past the sender's timeout: the sender no longer waits for this one. */
  hung: boolean;
}

export interface ReceiverBehaviour {
  /** Share of requests answered 500. */
  failRate: number;
  /** Share of requests answered (200) only after `hangMs`: a sender without a timeout would wait and take it. */
  hangRate: number;
  hangMs: number;
  /** Share of requests answered 429 with `Retry-After: retryAfterSeconds`. */
  busyRate: number;
  retryAfterSeconds: number;
  /** Answer every request 503 (the receiver's application is down). */
  down: boolean;
}

export interface Receiver {
  url: string;
  behaviour: ReceiverBehaviour;
  /** Every request, in arrival order, whatever was answered. */
  requests: ReceivedDelivery[];
  /** Requests answered 2xx. */
  accepted(): ReceivedDelivery[];
  stop(): Promise<void>;
}

export function startReceiver(options: { secret?: string; seed?: number; behaviour?: Partial<ReceiverBehaviour> } = {}): Receiver {
  const behaviour: ReceiverBehaviour = {
    failRate: 0,
    hangRate: 0,
    hangMs: 60_000,
    busyRate: 0,
    retryAfterSeconds: 1,
    down: false,
    ...options.behaviour,
  };
  const random = seededRandom(options.seed ?? 1);
  const verifier = options.secret ? new Webhook(options.secret) : undefined;
  const requests: ReceivedDelivery[] = [];

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const body = await request.text();
      const headers = Object.fromEntries(request.headers);
      let signatureValid: boolean | undefined;
      if (verifier) {
        try {
          verifier.verify(body, headers);
          signatureValid = true;
        } catch {
          signatureValid = false;
        }
      }
      const parsed = JSON.parse(body) as { state: string; contact: { $id: string }; transaction: { fired: string } };
      const record: ReceivedDelivery = {
        id: headers["webhook-id"] ?? "",
        timestamp: headers["webhook-timestamp"] ?? "",
        signatureValid,
        contentType: request.headers.get("content-type"),
        body,
        state: parsed.state,
        contactId: parsed.contact.$id,
        fired: parsed.transaction.fired,
        transaction: canonicalJson(parsed.transaction),
        status: 0,
        receivedAt: Date.now(),
        answeredAt: 0,
        hung: false,
      };
      requests.push(record);
      const answer = (status: number, init: ResponseInit = {}) => {
        record.status = status;
        record.answeredAt = Date.now();
        return new Response(status < 300 ? "ok" : "no", { ...init, status });
      };
      if (behaviour.down) return answer(503);
      const draw = random();
      if (draw < behaviour.failRate) return answer(500);
      if (draw < behaviour.failRate + behaviour.busyRate) {
        return answer(429, { headers: { "retry-after": String(behaviour.retryAfterSeconds) } });
      }
      if (draw < behaviour.failRate + behaviour.busyRate + behaviour.hangRate) {
        record.hung = true;
        await Bun.sleep(behaviour.hangMs);
        return answer(200);
      }
      return answer(200);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}/api/transactions/`,
    behaviour,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    stop: () => server.stop(true),
  };
}
