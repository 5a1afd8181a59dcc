// Tokens of the phonecalls web service: the libSQL token store (hashes only, shown once, revoke by
// id or label), the constant-time check, and `dbsync tokens add|list|revoke` as a real child process.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { hashToken, newToken, tokenMatches } from "../src/core/phonecalls/tokens.ts";
import { runCli, tempDir } from "./helpers/run.ts";

const dirs: string[] = [];
function dir(name: string): string {
  const made = tempDir(name);
  dirs.push(made);
  return made;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const TOKEN = /^dbs_[A-Za-z0-9_-]{43}$/;
const ID = /^tok_[0-9a-f]{12}$/;

async function withStore<T>(work: (state: StateStore) => Promise<T>, url = ":memory:"): Promise<T> {
  const state = await openStateStore(url);
  try {
    return await work(state);
  } finally {
    await state.close();
  }
}

describe("hashToken, newToken, tokenMatches", () => {
  test("hashToken is the SHA-256 of the token in hex", () => {
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashToken("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  test("newToken: dbs_ and 43 characters of base64url, a different one every time", () => {
    const tokens = Array.from({ length: 200 }, () => newToken());
    for (const token of tokens) expect(token).toMatch(TOKEN);
    expect(new Set(tokens).size).toBe(200);
  });

  test("tokenMatches finds a token among many hashes, wherever it is, and nothing else", () => {
    const tokens = Array.from({ length: 5 }, () => newToken());
    const hashes = tokens.map(hashToken);
    for (const token of tokens) expect(tokenMatches(token, hashes)).toBe(true);
    expect(tokenMatches(newToken(), hashes)).toBe(false);
    expect(tokenMatches("", hashes)).toBe(false);
    expect(tokenMatches(tokens[0] as string, [])).toBe(false);
    // the hash itself is no token, nor is a token with a character more, less or changed
    const token = tokens[2] as string;
    for (const wrong of [
      hashes[2] as string,
      `${token}x`,
      token.slice(0, -1),
      ` ${token}`,
      token.toUpperCase(),
      token.replace(/^dbs_/, ""),
    ]) {
      expect({ wrong, matches: tokenMatches(wrong, hashes) }).toEqual({ wrong, matches: false });
    }
  });

  test("a hash that is only a prefix of the token's hash, or longer than it, never matches", () => {
    const token = newToken();
    const hash = hashToken(token);
    expect(tokenMatches(token, [hash.slice(0, 32)])).toBe(false);
    expect(tokenMatches(token, [hash.slice(0, 2)])).toBe(false);
    expect(tokenMatches(token, [`${hash}00`])).toBe(false);
    expect(tokenMatches(token, [`${hash.slice(0, 62)}00`])).toBe(false);
  });
});

describe("the token store (libSQL state store)", () => {
  test("add returns a dbs_ token once and a record with an id; list never shows the token or its hash", async () => {
    await withStore(async (state) => {
      const before = Date.now();
      const { record, token } = await state.tokens.add("pbx berlin");
      expect(token).toMatch(TOKEN);
      expect(record).toEqual({ id: expect.stringMatching(ID), label: "pbx berlin", createdAt: expect.any(String), revokedAt: null });
      expect(Date.parse(record.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(new Date(record.createdAt).toISOString()).toBe(record.createdAt);
      const second = await state.tokens.add("");
      expect(second.token).not.toBe(token);
      expect(second.record.id).not.toBe(record.id);
      const list = await state.tokens.list();
      expect(list).toEqual([record, second.record].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)));
      const shown = JSON.stringify(list);
      for (const secret of [token, second.token, hashToken(token), hashToken(second.token)]) expect(shown).not.toContain(secret);
      expect(await state.tokens.activeHashes()).toEqual(expect.arrayContaining([hashToken(token), hashToken(second.token)]));
      expect((await state.tokens.activeHashes()).length).toBe(2);
    });
  });

  test("only the hash is stored: no column holds the token", async () => {
    const path = join(dir("tokens-file"), "state.db");
    const token = await withStore(async (state) => (await state.tokens.add("pbx")).token, `file:${path}`);
    const client = createClient({ url: `file:${path}` });
    const rows = await client.execute("SELECT * FROM phonecall_tokens");
    client.close();
    expect(rows.rows.length).toBe(1);
    const row = rows.rows[0] as unknown as Record<string, unknown>;
    expect(row.hash).toBe(hashToken(token));
    for (const value of Object.values(row)) expect(String(value)).not.toContain(token);
    for (const file of [path, `${path}-wal`]) {
      if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from(token))).toBe(false);
    }
    // and it is still there when the store is opened again
    expect(await withStore(async (state) => tokenMatches(token, await state.tokens.activeHashes()), `file:${path}`)).toBe(true);
  });

  test("revoke by id: that token no longer matches, the others still do; the list shows when", async () => {
    await withStore(async (state) => {
      const a = await state.tokens.add("a");
      const b = await state.tokens.add("b");
      expect(tokenMatches(a.token, await state.tokens.activeHashes())).toBe(true);
      const before = Date.now();
      expect(await state.tokens.revoke(a.record.id)).toBe(1);
      const hashes = await state.tokens.activeHashes();
      expect(tokenMatches(a.token, hashes)).toBe(false);
      expect(tokenMatches(b.token, hashes)).toBe(true);
      expect(hashes).toEqual([hashToken(b.token)]);
      const list = await state.tokens.list();
      const revoked = list.find((r) => r.id === a.record.id);
      expect(revoked?.revokedAt).toEqual(expect.any(String));
      expect(Date.parse(revoked?.revokedAt as string)).toBeGreaterThanOrEqual(before - 1000);
      expect(list.find((r) => r.id === b.record.id)?.revokedAt).toBeNull();
      // revoked twice: nothing more to revoke, and the time of the first stays
      expect(await state.tokens.revoke(a.record.id)).toBe(0);
      expect((await state.tokens.list()).find((r) => r.id === a.record.id)?.revokedAt).toBe(revoked?.revokedAt as string);
    });
  });

  test("revoke by label revokes every active token of that label; unknown ids and labels revoke nothing", async () => {
    await withStore(async (state) => {
      const one = await state.tokens.add("pbx");
      const two = await state.tokens.add("pbx");
      const other = await state.tokens.add("crm");
      expect(await state.tokens.revoke("nobody")).toBe(0);
      expect(await state.tokens.revoke("tok_000000000000")).toBe(0);
      expect(await state.tokens.revoke("")).toBe(0);
      expect(await state.tokens.revoke("PBX")).toBe(0);
      expect((await state.tokens.activeHashes()).length).toBe(3);
      expect(await state.tokens.revoke("pbx")).toBe(2);
      const hashes = await state.tokens.activeHashes();
      expect(tokenMatches(one.token, hashes)).toBe(false);
      expect(tokenMatches(two.token, hashes)).toBe(false);
      expect(tokenMatches(other.token, hashes)).toBe(true);
      expect((await state.tokens.list()).length).toBe(3);
    });
  });

  test("an empty store: no tokens, no hashes", async () => {
    await withStore(async (state) => {
      expect(await state.tokens.list()).toEqual([]);
      expect(await state.tokens.activeHashes()).toEqual([]);
    });
  });
});

describe("dbsync tokens add|list|revoke", () => {
  const lines = (text: string) => text.split("\n").filter((l) => l !== "");

  test("add shows the token once on stdout; list shows id, state and label, never the token; revoke by id", async () => {
    const state = `file:${join(dir("cli-tokens"), "state.db")}`;
    const added = await runCli(["tokens", "add", "--state", state, "--label", "pbx berlin"]);
    expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: expect.stringContaining("not shown again") });
    expect(lines(added.stdout)).toEqual([expect.stringMatching(TOKEN)]);
    const token = added.stdout.trim();
    const id = /tok_[0-9a-f]{12}/.exec(added.stderr)?.[0] as string;
    expect(id).toMatch(ID);
    expect(added.stderr).toContain("pbx berlin");

    const listed = await runCli(["tokens", "list", "--state", state]);
    expect(listed.code).toBe(0);
    expect(lines(listed.stdout)).toEqual([expect.stringMatching(new RegExp(`^${id}\\s+\\S+\\s+active\\s+pbx berlin$`))]);
    expect(listed.stdout + listed.stderr).not.toContain(token);
    expect(listed.stdout + listed.stderr).not.toContain(hashToken(token));

    // the token works until revoked
    expect(await withStore(async (s) => tokenMatches(token, await s.tokens.activeHashes()), state)).toBe(true);
    const revoked = await runCli(["tokens", "revoke", "--state", state, "--id", id]);
    expect({ code: revoked.code, stdout: revoked.stdout }).toEqual({ code: 0, stdout: "1 token revoked\n" });
    expect(await withStore(async (s) => tokenMatches(token, await s.tokens.activeHashes()), state)).toBe(false);
    const after = await runCli(["tokens", "list", "--state", state]);
    expect(lines(after.stdout)).toEqual([expect.stringMatching(new RegExp(`^${id}\\s+\\S+\\s+revoked \\S+\\s+pbx berlin$`))]);
  }, 60_000);

  test("revoke by label; a second add gives another token; the state from DBSYNC_STATE", async () => {
    const state = `file:${join(dir("cli-label"), "state.db")}`;
    const env = { DBSYNC_STATE: state };
    const first = await runCli(["tokens", "add", "--label", "crm"], { env });
    const second = await runCli(["tokens", "add", "--label", "pbx"], { env });
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.stdout.trim()).not.toBe(second.stdout.trim());
    const revoked = await runCli(["tokens", "revoke", "--id", "pbx"], { env });
    expect({ code: revoked.code, stdout: revoked.stdout }).toEqual({ code: 0, stdout: "1 token revoked\n" });
    await withStore(async (s) => {
      const hashes = await s.tokens.activeHashes();
      expect(tokenMatches(first.stdout.trim(), hashes)).toBe(true);
      expect(tokenMatches(second.stdout.trim(), hashes)).toBe(false);
    }, state);
  }, 60_000);

  test("revoke of an unknown id: exit 2 with one line, nothing revoked", async () => {
    const state = `file:${join(dir("cli-unknown"), "state.db")}`;
    const added = await runCli(["tokens", "add", "--state", state, "--label", "pbx"]);
    expect(added.code).toBe(0);
    for (const id of ["tok_000000000000", "nobody"]) {
      const result = await runCli(["tokens", "revoke", "--state", state, "--id", id]);
      expect({ id, code: result.code, stdout: result.stdout }).toEqual({ id, code: 2, stdout: "" });
      expect(lines(result.stderr)).toEqual([expect.stringContaining(id)]);
      expect(result.stderr).not.toContain("    at ");
    }
    // again after a revoke: no active token of that label is left
    expect((await runCli(["tokens", "revoke", "--state", state, "--id", "pbx"])).code).toBe(0);
    const again = await runCli(["tokens", "revoke", "--state", state, "--id", "pbx"]);
    expect(again.code).toBe(2);
    expect(lines(again.stderr).length).toBe(1);
    expect(await withStore(async (s) => tokenMatches(added.stdout.trim(), await s.tokens.activeHashes()), state)).toBe(false);
  }, 60_000);

  test("revoke without --id: exit 2 with one line", async () => {
    const state = `file:${join(dir("cli-noid"), "state.db")}`;
    expect((await runCli(["tokens", "add", "--state", state])).code).toBe(0);
    const result = await runCli(["tokens", "revoke", "--state", state]);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([expect.stringContaining("--id")]);
  }, 60_000);

  test("list and revoke on a missing --state file: exit 2 with one line, and no file made", async () => {
    const path = join(dir("cli-missing"), "nothing-here.db");
    for (const argv of [
      ["tokens", "list", "--state", `file:${path}`],
      ["tokens", "list", "--state", path],
      ["tokens", "revoke", "--state", `file:${path}`, "--id", "x"],
    ]) {
      const result = await runCli(argv);
      expect({ argv, code: result.code, stdout: result.stdout }).toEqual({ argv, code: 2, stdout: "" });
      expect(lines(result.stderr)).toEqual([expect.stringContaining(path)]);
      expect(existsSync(path)).toBe(false);
    }
    // without --state: the default store in the data folder, which does not exist yet either
    const fallback = await runCli(["tokens", "list"]);
    expect(fallback.code).toBe(2);
    expect(lines(fallback.stderr).length).toBe(1);
  }, 60_000);

  test("list of an empty store: no tokens", async () => {
    const state = `file:${join(dir("cli-empty"), "state.db")}`;
    const added = await runCli(["tokens", "add", "--state", state]);
    expect((await runCli(["tokens", "revoke", "--state", state, "--id", /tok_[0-9a-f]{12}/.exec(added.stderr)?.[0] as string])).code).toBe(
      0,
    );
    const listed = await runCli(["tokens", "list", "--state", state]);
    expect(lines(listed.stdout)).toEqual([expect.stringMatching(/revoked/)]);
    const fresh = `file:${join(dir("cli-fresh"), "state.db")}`;
    await withStore(async () => undefined, fresh);
    expect(await runCli(["tokens", "list", "--state", fresh])).toMatchObject({ code: 0, stdout: "no tokens\n" });
  }, 60_000);
});
