// The config file of `dbsync run`: every kind of mistake is one line naming the file, the campaign and
// the key, exit 2, before anything is opened; a good file means what the same flags mean.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CAMPAIGN_KEYS, FLAGS_OF_THE_PROCESS, loadRunConfig } from "../src/cli/run-config.ts";
import { parseSyncConfig, SYNC_FLAGS } from "../src/cli/sync-config.ts";
import { runCli, tempDir } from "./helpers/run.ts";

const dir = tempDir("run-config");

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD_CAMPAIGN = `  - campaign: ABC123
    token: \${TOKEN_ABC}
    mode: db_sync
    url: file:abc.db
`;

describe("dbsync run --config: mistakes", () => {
  const cases: [string, string, string][] = [
    ["a missing file", join(dir, "nowhere.yaml"), "nowhere.yaml: no such file"],
    ["bad YAML", file("bad.yaml", "campaigns: [\n  campaign: x"), "bad.yaml: not valid YAML: "],
    ["bad TOML", file("bad.toml", "campaigns = ["), "bad.toml: not valid TOML: "],
    ["an unknown extension", file("config.ini", "x=1"), "config.ini: the file must end in .yaml, .yml, .toml or .json"],
    [
      "an unknown top-level key",
      file("top.yaml", `stat: file:s.db\ncampaigns:\n${GOOD_CAMPAIGN}`),
      'top.yaml: unknown key "stat" (did you mean state?)',
    ],
    [
      "an unknown campaign key",
      file("key.yaml", `campaigns:\n${GOOD_CAMPAIGN}    worker: 4\n`),
      'key.yaml: campaign 1 (ABC123): unknown key "worker" (did you mean workers?)',
    ],
    [
      "a missing token",
      file("token.yaml", `campaigns:\n${GOOD_CAMPAIGN}  - campaign: XYZ789\n    mode: db_init\n`),
      "token.yaml: campaign 2 (XYZ789): token is required",
    ],
    [
      "a bad mode",
      file("mode.yaml", "campaigns:\n  - campaign: XYZ789\n    token: t0ken\n    mode: db_magic\n"),
      'mode.yaml: campaign 1 (XYZ789): mode must be db_init, db_update, db_sync, webhook (not "db_magic")',
    ],
    [
      "an unset variable",
      file("variable.yaml", `campaigns:\n  - campaign: XYZ789\n    token: \${NOT_SET_ANYWHERE}\n    mode: db_init\n`),
      "variable.yaml: campaign 1 (XYZ789): token: the environment variable NOT_SET_ANYWHERE is not set",
    ],
    [
      "a bad target URL",
      file("url.yaml", "campaigns:\n  - campaign: XYZ789\n    token: t0ken\n    mode: db_sync\n    url: mysql//user:hunter22@host/db\n"),
      "url.yaml: campaign 1 (XYZ789): url: ",
    ],
    [
      "a bad value, in the flags' own words",
      file("workers.json", '{"campaigns": [{"campaign": "XYZ789", "token": "t0ken", "mode": "db_init", "workers": "lots"}]}'),
      "workers.json: campaign 1 (XYZ789): workers must be a whole number",
    ],
    [
      "a webhook without its receiver",
      file("webhook.yaml", "campaigns:\n  - campaign: XYZ789\n    token: t0ken\n    mode: webhook\n"),
      "webhook.yaml: campaign 1 (XYZ789): webhook mode needs url: ",
    ],
    [
      "the same campaign, mode and target twice",
      file("twice.yaml", `campaigns:\n${GOOD_CAMPAIGN}  - campaign: ABC123\n    token: other\n    mode: db_sync\n    url: file:./abc.db\n`),
      "twice.yaml: campaign 2 (ABC123): the same campaign, mode and url as campaign 1 (ABC123)",
    ],
    [
      "one campaign to two receivers",
      file(
        "receivers.yaml",
        "campaigns:\n" +
          ["https://a.example/hook", "https://b.example/hook"]
            .map((url) => `  - campaign: XYZ789\n    token: t0ken\n    mode: webhook\n    url: ${url}\n`)
            .join(""),
      ),
      "receivers.yaml: campaign 2 (XYZ789): the same campaign in webhook mode as campaign 1 (XYZ789): one state store feeds one receiver per campaign",
    ],
    [
      "a key of every object",
      file("prototype.yaml", `campaigns:\n${GOOD_CAMPAIGN}    constructor: 1\n`),
      'prototype.yaml: campaign 1 (ABC123): unknown key "constructor"',
    ],
    [
      "state on SQL Server",
      file("state.yaml", `state: sqlserver://u:hunter22@db/dbsync\ncampaigns:\n${GOOD_CAMPAIGN}`),
      "state.yaml: state: SQL Server is not supported for the state store; use a libSQL file (file:PATH)",
    ],
    [
      "state on a server URL without a host",
      file("hostless.yaml", `state: postgres://u:hunter22@/dbsync\ncampaigns:\n${GOOD_CAMPAIGN}`),
      "hostless.yaml: state: ",
    ],
    ["no campaigns", file("empty.toml", 'state = "file:s.db"\n'), "empty.toml: campaigns: must be a list of at least one campaign"],
  ];
  for (const [what, path, message] of cases) {
    test(`${what}: one line, exit 2`, async () => {
      const result = await runCli(["run", "--config", path], { env: { TOKEN_ABC: "abc-token-0123456789" } });
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toStartWith(`error: ${path.startsWith(dir) ? path : ""}`);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain("hunter22");
      expect(result.code).toBe(2);
    });
  }
});

test("dbsync run without --config: one line, exit 2", async () => {
  const result = await runCli(["run"]);
  expect(result.stderr).toBe("error: the config file (--config) is required\n");
  expect(result.code).toBe(2);
});

describe("dbsync run --config: what a good file means", () => {
  test("every flag of a sync is a campaign key or a setting of the whole process", () => {
    const covered = new Set<string>([...Object.values(CAMPAIGN_KEYS), ...Object.keys(FLAGS_OF_THE_PROCESS)]);
    expect(Object.keys(SYNC_FLAGS).filter((flag) => !covered.has(flag))).toEqual([]);
  });

  test("a campaign of the file is the campaign of the same flags; $$ is a literal $", async () => {
    const path = file(
      "full.yaml",
      `state: file:state.db
lease_seconds: 30
campaigns:
  - campaign: ABC123
    token: \${TOKEN_ABC}
    mode: db_sync
    url: postgres://dbsync:pa$$\${DB_PASSWORD}@db/calls
    table_prefix: dfire_
    filter_mode: hi_updates_only
    filter_prefixes: [fc_, qc_]
    start: 2018-02-01
    interval: 30
    relist: 6
    workers: 8
    api_url: https://api.megadialer.example
    api_retries: 3
`,
    );
    const config = await loadRunConfig(path, { TOKEN_ABC: "abc-token", DB_PASSWORD: "secret" });
    expect(config.stateUrl).toBe(`file:${dir}/state.db`);
    expect(config.leaseSeconds).toBe(30);
    expect(config.failureWait).toEqual({ firstSeconds: 5, maxSeconds: 300 });
    const flags = parseSyncConfig({
      a: "db_sync",
      c: "ABC123",
      ct: "abc-token",
      url: "postgres://dbsync:pa$secret@db/calls",
      tp: "dfire_",
      fm: "hi_updates_only",
      fp: "fc_,qc_",
      s: "2018-02-01",
      interval: "30",
      relist: "6",
      w: "8",
      "api-url": "https://api.megadialer.example",
      "api-retries": "3",
    });
    expect(config.campaigns.map((campaign) => campaign.config)).toEqual([flags]);
  });

  test("state on a libSQL server, PostgreSQL or MySQL/MariaDB is taken as written", async () => {
    for (const url of [
      "libsql://state.example.turso.io?authToken=abc",
      "postgres://dbsync:pw@db:5432/dbsync",
      "postgresql://dbsync@db/dbsync?sslmode=require",
      "mysql://dbsync:pw@db:3306/dbsync",
      "mariadb://dbsync:pw@db/dbsync",
    ]) {
      const config = await loadRunConfig(file("server-state.yaml", `state: ${url}\ncampaigns:\n${GOOD_CAMPAIGN}`), {
        TOKEN_ABC: "abc-token",
      });
      expect(config.stateUrl).toBe(url);
    }
  });

  test("relative file paths are read from the config file's folder", async () => {
    const config = await loadRunConfig(
      file("relative.toml", '[[campaigns]]\ncampaign = "ABC123"\ntoken = "t0ken"\nmode = "db_init"\nurl = "file:calls.db"\n'),
    );
    expect(config.campaigns[0]?.config.url).toBe(`file:${dir}/calls.db`);
  });

  test("a campaign's key, the name of its lease in a shared state store, holds no password or token", async () => {
    const campaign = (url: string) => `  - campaign: ABC123\n    token: t0ken\n    mode: db_sync\n    url: "${url}"\n`;
    const config = await loadRunConfig(
      file(
        "keys.yaml",
        `campaigns:\n${campaign("postgres://u:pa/ss@127.0.0.1/db?currentSchema=calls")}${campaign("libsql://db.example?authToken=tok3n")}`,
      ),
    );
    expect(config.campaigns.map((c) => c.key)).toEqual([
      "ABC123|db_sync|postgres://u@127.0.0.1/db?currentSchema=calls",
      "ABC123|db_sync|libsql://db.example",
    ]);
  });
});
