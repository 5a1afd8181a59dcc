// The API client against scripted HTTP servers on loopback: every way an answer can go wrong.
import { afterEach, describe, expect, test } from "bun:test";
import { canonicalJson } from "../src/core/sync/canonical-json.ts";
import { createDialfireClient, DialfireApiError, DialfireAuthError } from "../src/core/dialfire/client.ts";
import { backoffMs, parseRetryAfter } from "../src/core/common/retry.ts";
import { toSqlValue } from "../src/core/sync/rows.ts";

type Handler = (request: Request, attempt: number) => Response | Promise<Response>;

const servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop(true);
});

function serve(handler: Handler): { url: string; requests: Request[] } {
  const requests: Request[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      requests.push(request.clone());
      return handler(request, requests.length);
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}`, requests };
}

const fast = { attempts: 4, baseMs: 5, maxMs: 20 };
const client = (url: string, extra: Partial<Parameters<typeof createDialfireClient>[0]> = {}) =>
  createDialfireClient({ baseUrl: url, campaign: "CAMP", token: "secret-token", retry: fast, timeoutMs: 2000, ...extra });

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

describe("requests", () => {
  test("sends the Bearer token and the original's paths and query parameters", async () => {
    const { url, requests } = serve(() => Response.json({ count: 0, results: [], cursor: "" }));
    const source = client(url);
    await collect(source.listContacts("2024-03-04T10:00:00Z"));
    await collect(
      source.transactionEvents(
        { from: "2024-03-04T10:00:00.000Z", to: "2024-03-04T10:01:00.000Z" },
        { type: "update", hi: true, tasks: "fc_,qc_" },
      ),
    );
    await collect(source.inboundCalls({ from: "" }));
    const urls = requests.map((r) => new URL(r.url));
    expect(urls.map((u) => u.pathname)).toEqual([
      "/api/campaigns/CAMP/contacts/list",
      "/api/campaigns/CAMP/contacts/transactions/",
      "/api/campaigns/CAMP/inbound/calls/",
    ]);
    expect(urls[0]?.searchParams.get("changedSince")).toBe("2024-03-04");
    expect(urls[0]?.searchParams.get("limit")).toBe("1000");
    expect(Object.fromEntries(urls[1]?.searchParams ?? [])).toMatchObject({ type: "update", hi: "true", tasks: "fc_,qc_" });
    expect(urls[2]?.searchParams.get("from")).toBe("");
    expect(requests.every((r) => r.headers.get("authorization") === "Bearer secret-token")).toBe(true);
  });

  test("follows cursors until an empty one and parses event strings", async () => {
    const { url, requests } = serve((request) => {
      const cursor = new URL(request.url).searchParams.get("cursor");
      if (!cursor) return Response.json({ count: 1, results: ["2024-03-04T09:02:40.118Z|abc|C1|0,1"], cursor: "NEXT_1" });
      return Response.json({ count: 1, results: ["2024-03-04T09:03:05.004Z|def|C2", "broken"], cursor: "" });
    });
    const events = await collect(client(url).transactionEvents({ from: "x" }, {}));
    expect(events).toEqual([
      { time: "2024-03-04T09:02:40.118Z", md5: "abc", contactId: "C1" },
      { time: "2024-03-04T09:03:05.004Z", md5: "def", contactId: "C2" },
    ]);
    expect(new URL(requests[1]?.url ?? "").searchParams.get("cursor")).toBe("NEXT_1");
  });

  test("a repeated cursor is an error, not an endless loop", async () => {
    const { url } = serve(() => Response.json({ count: 1, results: [{ id: "A", md5: "m" }], cursor: "SAME" }));
    await expect(collect(client(url).listContacts(undefined))).rejects.toThrow("repeated a page cursor");
  });

  test("contact fetch posts the ids as JSON, afresh on every attempt", async () => {
    const { url, requests } = serve(async (request, attempt) => {
      if (attempt === 1) return new Response("busy", { status: 503 });
      const ids = (await request.json()) as string[];
      return Response.json(ids.map((id) => ({ $id: id, $md5: `md5-${id}`, $task_log: [] })));
    });
    const contacts = await client(url).fetchContacts(["A", "B"]);
    expect(contacts.map((c) => c.$md5)).toEqual(["md5-A", "md5-B"]);
    expect(requests).toHaveLength(2);
    expect(await requests[1]?.json()).toEqual(["A", "B"]);
    expect(new URL(requests[1]?.url ?? "").pathname).toBe("/api/campaigns/CAMP/contacts/");
  });
});

test("numbers beyond double precision are kept exactly: as text in rows, as the same number in JSON", async () => {
  const body =
    '[{"$id": "A", "$md5": "m", "big": 12345678901234567890, "long": 0.1234567890123456789, "plain": 10023, "price": 12.50, "list": [98765432109876543210]}]';
  const { url } = serve(() => new Response(body, { headers: { "content-type": "application/json" } }));
  const [contact] = await client(url).fetchContacts(["A"]);
  const { big, long, plain, price } = contact ?? {};
  expect([big, long, plain, price].map(toSqlValue)).toEqual(["12345678901234567890", "0.1234567890123456789", 10023, 12.5]);
  expect(JSON.stringify(contact)).toBe(
    '{"$id":"A","$md5":"m","big":12345678901234567890,"long":0.1234567890123456789,"plain":10023,"price":12.5,"list":[98765432109876543210]}',
  );
  expect(canonicalJson(contact)).toContain('"big":12345678901234567890,');
});

describe("failures", () => {
  test("403 stops at once with a message naming the token", async () => {
    const { url, requests } = serve(() => new Response("Forbidden", { status: 403 }));
    const error = await client(url)
      .fields()
      .catch((e) => e);
    expect(error).toBeInstanceOf(DialfireAuthError);
    expect(error.message).toContain("token");
    expect(error.message).not.toContain("secret-token");
    expect(requests).toHaveLength(1);
  });

  test("5xx, 429 and malformed bodies are retried, then succeed", async () => {
    const answers = [
      () => new Response("oops", { status: 500 }),
      () => new Response("slow down", { status: 429, headers: { "Retry-After": "0" } }),
      () => new Response('[{"type": "field", "na', { status: 200 }),
      () => Response.json([{ type: "field", fieldType: "text", name: "firstname", state: "", deleted: false }]),
    ];
    const { url } = serve((_, attempt) => (answers[attempt - 1] ?? answers[3])!());
    const retries: string[] = [];
    const fields = await client(url, { onRetry: (info) => retries.push(info.reason) }).fields();
    expect(fields.map((f) => f.name)).toEqual(["firstname"]);
    expect(retries).toEqual(["HTTP 500", "HTTP 429", expect.stringContaining("malformed JSON")]);
  });

  test("after the last attempt the error reaches the caller, never an empty page as the original's retries returned", async () => {
    const { url, requests } = serve(() => new Response("down", { status: 502 }));
    const error = await collect(client(url).inboundCalls({ from: "" })).catch((e) => e);
    expect(error).toBeInstanceOf(DialfireApiError);
    expect(error.message).toContain("failed after 4 attempts: HTTP 502");
    expect(requests).toHaveLength(4);
  });

  test("an answer that does not arrive in time is a timeout, retried", async () => {
    const { url, requests } = serve(async (_, attempt) => {
      if (attempt === 1) await Bun.sleep(4000);
      return Response.json([]);
    });
    const fields = await client(url, { timeoutMs: 1000 }).fields();
    expect(fields).toEqual([]);
    expect(requests).toHaveLength(2);
  });

  test("an answer of the wrong shape is rejected with the path of the problem", async () => {
    const { url } = serve(() => Response.json({ count: 1, results: [{ id: 5 }, { md5: "x" }], cursor: "" }));
    const error = await collect(client(url).listContacts(undefined)).catch((e) => e);
    expect(error).toBeInstanceOf(DialfireApiError);
    expect(error.message).toContain("results.1.id");
  });

  test("400 is not retried", async () => {
    const { url, requests } = serve(() => Response.json({ error: "bad from" }, { status: 400 }));
    await expect(collect(client(url).inboundCalls({ from: "nonsense" }))).rejects.toThrow("HTTP 400");
    expect(requests).toHaveLength(1);
  });

  test("an unreachable API is reported as such", async () => {
    const { url } = serve(() => new Response());
    for (const s of servers.splice(0)) s.stop(true);
    await expect(client(url).fields()).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:\d+/);
  });

  test("a connection the API closes is told in our words, without the runtime's advice to its programmers", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => void socket.end(), open: () => {} },
    });
    servers.push({ stop: () => listener.stop(true) });
    const error = await client(`http://127.0.0.1:${listener.port}`)
      .fields()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DialfireApiError);
    expect((error as Error).message).toMatch(
      /failed after 4 attempts: cannot reach http:\/\/127\.0\.0\.1:\d+: the connection was closed by the other side$/,
    );
    expect((error as Error).message).not.toContain("verbose");
  });

  test("an invalid base URL is refused before any request", () => {
    expect(() => client("not a url")).toThrow("not a valid URL");
    expect(() => client("ftp://x")).toThrow("http:// or https://");
  });

  test("abort stops the retries at once", async () => {
    const { url } = serve(() => new Response("down", { status: 500 }));
    const controller = new AbortController();
    const pending = createDialfireClient({
      baseUrl: url,
      campaign: "CAMP",
      token: "t",
      retry: { attempts: 10, baseMs: 10_000, maxMs: 10_000 },
    }).fields(controller.signal);
    setTimeout(() => controller.abort(new Error("stop")), 100);
    const started = Date.now();
    await expect(pending).rejects.toThrow("stop");
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe("retry timing", () => {
  test("backoff grows, is jittered within bounds, and honours Retry-After", () => {
    const policy = { attempts: 10, baseMs: 100, maxMs: 1000 };
    expect(backoffMs(policy, 0, undefined, () => 0)).toBe(50);
    expect(backoffMs(policy, 0, undefined, () => 1)).toBe(100);
    expect(backoffMs(policy, 3, undefined, () => 1)).toBe(800);
    expect(backoffMs(policy, 8, undefined, () => 1)).toBe(1000);
    expect(backoffMs(policy, 0, 2500, () => 0)).toBe(2500);
  });

  test("Retry-After as seconds or HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
