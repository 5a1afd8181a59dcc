import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateError } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { runStateConformance } from "./state-conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "dbsync-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fileUrl = `file:${join(dir, "state.db")}`;
runStateConformance("libSQL file", () => openStateStore(fileUrl), { url: fileUrl });
runStateConformance("libSQL :memory:", () => openStateStore(":memory:"), { persistent: false });

async function openError(url: string): Promise<Error> {
  const outcome = await openStateStore(url).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (error: unknown) => error as Error,
  );
  if (outcome === undefined) throw new Error(`expected ${url} not to open`);
  return outcome;
}

describe("libSQL state store", () => {
  test("opening twice is idempotent and shares the checkpoints", async () => {
    const url = `file:${join(dir, "twice.db")}`;
    const first = await openStateStore(url);
    const second = await openStateStore(url);
    const key = { campaign: "C", mode: "db_sync", target: "t" };
    await first.setCheckpoint(key, "2024-01-01T00:00:00.000Z");
    expect((await second.getCheckpoint(key))?.value).toBe("2024-01-01T00:00:00.000Z");
    await first.close();
    await second.close();
  });

  test("a closed store refuses to save instead of ignoring it", async () => {
    const store = await openStateStore(`file:${join(dir, "closed.db")}`);
    await store.close();
    const error = await store.setCheckpoint({ campaign: "C", mode: "m", target: "t" }, "x").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StateError);
  });

  test("a location that cannot be written is a StateError naming the URL", async () => {
    const plainFile = join(dir, "not-a-directory");
    writeFileSync(plainFile, "x");
    const url = `file:${join(plainFile, "state.db")}`;
    const error = await openError(url);
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain(url);
    expect(error.message).not.toContain("\n");
  });

  test("a file that is not a database is a StateError", async () => {
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, "this is not an SQLite database, just some text that is long enough".repeat(100));
    const error = await openError(`file:${garbage}`);
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain(garbage);
  });

  test("a bad URL is a StateError that does not show the token", async () => {
    for (const url of ["ftp://host/x", "http://127.0.0.1:1/?authToken=SECRET", "libsql://"]) {
      const error = await openError(url);
      expect(error).toBeInstanceOf(StateError);
      expect(error.message).not.toContain("SECRET");
    }
  });
});
