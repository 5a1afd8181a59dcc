// A database that cannot be reached is told in our words, whatever driver failed: not "ECONNREFUSED",
// "getaddrinfo", nor Bun's advice to pass `verbose: true` to fetch(). Real sockets on loopback.
import { afterAll, expect, test } from "bun:test";
import { openStateStore } from "../src/state/open.ts";
import { openDialect } from "../src/dialects/index.ts";

// A port that accepts and closes at once, and one where nothing listens.
const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (socket) => void socket.end(), data: () => {} } });
const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: () => {} } });
const refusing = probe.port;
probe.stop(true);
afterAll(() => closing.stop(true));

const REFUSED = "connection refused (nothing listens on that host and port)";
const CLOSED = "the connection was closed by the other side";

async function failure(url: string): Promise<string> {
  try {
    const dialect = await openDialect(url);
    try {
      await dialect.all("SELECT 1");
    } finally {
      await dialect.close().catch(() => {});
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error(`${url} answered`);
}

test.each([
  ["libSQL over HTTP", `libsql://127.0.0.1:${refusing}`, REFUSED],
  ["libSQL over HTTP, closed", `http://127.0.0.1:${closing.port}`, CLOSED],
  ["PostgreSQL", `postgres://u:p@127.0.0.1:${refusing}/db?sslmode=disable`, REFUSED],
  ["MySQL", `mysql://u:p@127.0.0.1:${refusing}/db`, REFUSED],
  ["SQL Server", `sqlserver://u:p@127.0.0.1:${refusing}/db?encrypt=false`, REFUSED],
])("%s: %s", async (_name, url, expected) => {
  const message = await failure(url);
  expect(message).toEndWith(expected);
  expect(message).not.toMatch(/ECONN|getaddrinfo|verbose: true/);
});

test("the state store over HTTP says it in our words too", async () => {
  let message = "";
  try {
    const state = await openStateStore(`libsql://127.0.0.1:${refusing}`);
    await state.close();
  } catch (error) {
    message = error instanceof Error ? error.message : String(error);
  }
  expect(message).toContain(REFUSED);
});
