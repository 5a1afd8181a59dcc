// What a failed fetch() means, told in our words: real failures on loopback, not made-up errors.
import { afterAll, expect, test } from "bun:test";
import { networkReason } from "../src/core/common/network-errors.ts";

const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => void socket.end(), open: () => {} } });
const plainHttp = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("plain") });
const slow = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async () => {
    await Bun.sleep(2000);
    return new Response("late");
  },
});
afterAll(() => {
  closing.stop(true);
  plainHttp.stop(true);
  slow.stop(true);
});

async function reasonOf(url: string, init: RequestInit = {}): Promise<string> {
  try {
    await fetch(url, init);
  } catch (error) {
    return networkReason(error);
  }
  throw new Error(`${url} answered`);
}

test("refused, closed, TLS, timeout and a name that does not resolve", async () => {
  expect(await reasonOf("http://127.0.0.1:1/")).toBe("connection refused (nothing listens on that host and port)");
  expect(await reasonOf(`http://127.0.0.1:${closing.port}/`)).toBe("the connection was closed by the other side");
  expect(await reasonOf(`https://127.0.0.1:${plainHttp.port}/`)).toBe("TLS handshake failed (does the server speak HTTPS on this port?)");
  expect(await reasonOf(`http://127.0.0.1:${slow.port}/`, { signal: AbortSignal.timeout(50) })).toBe("no answer in time");
  expect(await reasonOf("http://no-such-host.invalid/")).toMatch(/^host (not found|name lookup failed)/);
});

test("an error the table does not know keeps its first line, without the runtime's hints", () => {
  const error = Object.assign(
    new Error("EWEIRD: something odd. For more information, pass `verbose: true` in the second argument to fetch()\nmore"),
    {
      code: "EWEIRD",
    },
  );
  expect(networkReason(error)).toBe("EWEIRD: something odd.");
});
