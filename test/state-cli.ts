// The command line on a state store of a server (libSQL server, PostgreSQL, MySQL/MariaDB): `dbsync
// tokens` adds, lists and revokes there through --state, with no file required to exist first and
// no password in what it prints.
import { expect, test } from "bun:test";
import { runCli } from "./helpers/run.ts";

export function runStateCliChecks(name: string, url: string, password?: string): void {
  test(`dbsync tokens --state on ${name}`, async () => {
    const label = `pbx-${Math.random().toString(36).slice(2, 8)}`;
    const added = await runCli(["tokens", "add", "--state", url, "--label", label]);
    expect(added.code).toBe(0);
    expect(added.stdout).toStartWith("dbs_");
    const listed = await runCli(["tokens", "list", "--state", url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(label);
    const revoked = await runCli(["tokens", "revoke", "--id", label, "--state", url]);
    expect(revoked.stdout).toBe("1 token revoked\n");
    for (const output of [added, listed, revoked]) {
      if (password) expect(`${output.stdout}${output.stderr}`).not.toContain(password);
    }
  }, 60_000);
}
