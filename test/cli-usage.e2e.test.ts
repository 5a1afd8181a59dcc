// The real command line in a child process: every malformed flag, variable or URL is a usage error
// (exit 2, one line naming the fault, before any request and without creating a file); a run
// configured by the environment alone starts; no file is left behind by a refused token.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { runCli, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(60_000);

const TOKEN = "usage-token-abcdefghijklmnopqrstuvwxyz";
const CAMPAIGN = "USAGECAMPAIGN001";
let sim: RunningSimulator;
/** An API that counts what reaches it: a usage error must be found before any request. */
let counter: ReturnType<typeof Bun.serve>;
let requests = 0;

beforeAll(() => {
  sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 30, seed: 5 });
  counter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      requests++;
      return new Response("down", { status: 503 });
    },
  });
});
afterAll(() => {
  sim.stop();
  counter.stop(true);
});

function expectUsageError(result: { code: number; stderr: string; stdout: string }, fault: string): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(fault) });
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe("malformed settings are usage errors, found before any request", () => {
  test("sync: every malformed flag, variable and target URL exits 2 naming the fault; nothing is created", async () => {
    const dir = tempDir("usage-sync");
    const missing = join(dir, "missing", "deeper");
    const cases: [string[], Record<string, string>, string][] = [
      [["--api-url", "ftp://x"], {}, "--api-url must be an http:// or https:// URL, not ftp:"],
      [["--api-url", "127.0.0.1:18461"], {}, "--api-url must start with http:// or https://"],
      [["--api-url", "http://h:notaport/"], {}, "--api-url is not a valid URL (check its host and port"],
      [["--api-url", "http://127.0.0.1:0/"], {}, "--api-url names port 0, on which no server listens"],
      [["--url", "postgres://u:p@h:notaport/db"], {}, '--url: postgres://u@h:notaport…: "notaport" is not a port number'],
      [["--url", "mysql://u:p@h:70000/db"], {}, "70000 is not a port number"],
      [["--url", "postgres://u:p@h/db?sslmode=bogus"], {}, 'unknown sslmode "bogus"'],
      [["--url", "mysql://u:p@h/"], {}, "names no database"],
      [
        ["--url", `postgres://u:p@h/db?sslmode=verify-full&sslrootcert=${missing}/ca.pem`],
        {},
        `cannot read sslrootcert ${missing}/ca.pem: there is no such file`,
      ],
      [["--url", `mysql://u:p@h/db?sslca=${missing}/ca.pem`], {}, `cannot read the CA file ${missing}/ca.pem: there is no such file`],
      [["--url", "sqlserver://u:p@h:1433/"], {}, "names no database"],
      [["--url", "libsql://"], {}, "the libSQL URL libsql:… has no host"],
      [["--url", "libsql://h:notaport?authToken=t"], {}, '"libsql:…" is not a valid libSQL URL (check its host and port)'],
      [["--url", "libsql://127.0.0.1:0?authToken=t"], {}, "the libSQL URL libsql:… names port 0, on which no server listens"],
      [["--url", "redis://u:p@h/0"], {}, '"redis:…" is not a database URL dbsync knows'],
      [["--url", `file:${missing}/x.db`], {}, `the folder ${missing} does not exist`],
      [["--url", `${missing}/x.db`], {}, `the folder ${missing} does not exist`],
      [["--state", `file:${missing}/state.db`], {}, `--state: the folder ${missing} does not exist`],
      [["--state", "ftp://x"], {}, '--state: "ftp:…" is not a state store URL'],
      // No scheme that can be read, and a login: nothing of it is quoted.
      [["--state", "pg_sql://user:S3cretPw@db/x"], {}, "--state: the URL given is not a state store URL"],
      [["--url", "pg_sql://user:S3cretPw@db/x"], {}, "--url: the URL given is not a database URL dbsync knows"],
      [["--url", `file:${dir}`], {}, `--url: file:${dir} is a folder; name the database file in it`],
      [["--url", `file:${dir}/t.db?mode=ro`], {}, `--url: file: URLs take no parameters ("mode")`],
      [["--url", "file://host/tmp/t.db"], {}, `--url: file:// URLs name a local file, not a host ("host")`],
      [["--state", `file:${dir}`], {}, `--state: ${dir} is a folder; name the state file in it`],
      [["--v=maybe"], {}, '--v must be true or false (got "maybe")'],
      [[], { DBSYNC_URL: "postgres://u:p@h:notaport/db" }, 'DBSYNC_URL: postgres://u@h:notaport…: "notaport" is not a port number'],
      [[], { DBSYNC_INTERVAL: "abc" }, "DBSYNC_INTERVAL must be a number of seconds"],
      [[], { DIALFIRE_INTERVAL: "abc" }, "DIALFIRE_INTERVAL must be a number of seconds"],
      [[], { DBSYNC_STATE: `file:${missing}/state.db` }, `DBSYNC_STATE: the folder ${missing} does not exist`],
    ];
    for (const [flags, env, fault] of cases) {
      const apiUrl = flags.includes("--api-url") ? [] : ["--api-url", counter.url.href];
      const target = flags.includes("--url") || env.DBSYNC_URL ? [] : ["--url", `file:${dir}/t.db`];
      const base = ["--a", "db_init", "--c", CAMPAIGN, "--ct", TOKEN, "--api-retries", "1"];
      const result = await runCli([...base, ...target, ...apiUrl, ...flags], { env });
      expectUsageError(result, fault);
      expect(result.stderr).not.toContain("names no host");
      expect(result.stderr).not.toContain("S3cretPw");
    }
    expect(requests).toBe(0);
    expect(existsSync(join(dir, "missing"))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("the other commands: malformed URLs and flags exit 2 naming the fault", async () => {
    const dir = tempDir("usage-commands");
    const missing = join(dir, "missing");
    const mapping = join(dir, "mapping.json");
    writeFileSync(mapping, JSON.stringify({ phones: ["$phone"], bogus: "x" }));
    const cases: [string[], string][] = [
      [["serve", "--url", "postgres://u:p@h:notaport/db"], '--url: postgres://u@h:notaport…: "notaport" is not a port number'],
      [["serve", "--url", ":memory:"], "--url: an in-memory database holds no contacts"],
      [["serve", "--url", `file:${dir}`], `--url: file:${dir} is a folder`],
      [["serve", "--url", `file:${dir}/x.db`, "--talkdesk-mapping", mapping], 'unknown key "bogus"; the keys are name, company, title'],
      [
        ["phonecalls", "push", "--cdr", "mysql://u:p@h:notaport/a", "--target", "https://x", "--token", "t"],
        '--cdr: mysql://u@h:notaport…: "notaport" is not a port',
      ],
      [
        ["phonecalls", "push", "--cdr", "mysql://u:p@127.0.0.1:1/a", "--target", `file:${missing}/t.db`],
        `--target: file:${missing}/t.db: the folder ${missing} does not exist`,
      ],
      [
        ["phonecalls", "push", "--cdr", `file:${dir}/cdr.db`, "--target", "https://x", "--token", "t"],
        "--cdr must be the Asterisk MySQL/MariaDB database",
      ],
      [
        ["phonecalls", "push", "--cdr", "mysql://u:p@127.0.0.1:1/a", "--target", `file:${dir}/calls.db`],
        `--target: there is no database file ${dir}/calls.db`,
      ],
      [["tokens", "add", "--state", `file:${missing}/state.db`], `--state: the folder ${missing} does not exist`],
      [["webhook", "failed", "--state", "ftp://x"], '--state: "ftp:…" is not a state store URL'],
      [["simulate", "--host", "a b", "--port", "0"], "cannot listen on a b:0: --host a b is no address of this machine"],
      [["simulate", "--campaign", "", "--port", "0"], "--campaign must not be empty"],
      [["simulate", "--token", " ", "--port", "0"], "--token must not be empty"],
      [["simulate", "--host", "", "--port", "0"], "--host must not be empty"],
      [["webhook", "failed", "--json=perhaps"], "--json must be true or false"],
      [["webhook", "replay", "--url", "ftp://x"], "--url in webhook mode must be the receiver's absolute http(s) URL"],
      [["--a", "webhook", "--c", CAMPAIGN, "--ct", TOKEN, "--url", "ftp://x"], "--url in webhook mode must be"],
      [["--a", "webhook", "--c", CAMPAIGN, "--ct", TOKEN, "--url", "http://127.0.0.1:0/hook"], "--url in webhook mode names port 0"],
      [
        ["phonecalls", "push", "--cdr", "mysql://u:p@127.0.0.1:1/a", "--target", "http://127.0.0.1:0/", "--token", "t"],
        "--target names port 0, on which no server listens",
      ],
      [
        ["phonecalls", "push", "--cdr", "mysql://u:p@127.0.0.1:1/a", "--target", "http://calls.example:99999/", "--token", "t"],
        "--target is not a valid URL (check its host and port",
      ],
    ];
    for (const [argv, fault] of cases) expectUsageError(await runCli(argv), fault);
    expect(readdirSync(dir)).toEqual(["mapping.json"]);
  });

  test("a port in use is a failure that may pass (exit 1), a host that is no address here a usage error", async () => {
    const dir = tempDir("listen");
    writeFileSync(join(dir, "x.db"), "");
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    try {
      for (const command of [["simulate"], ["serve", "--url", `file:${dir}/x.db`, "--state", `file:${dir}/s.db`]]) {
        const inUse = await runCli([...command, "--port", String(taken.port)]);
        expect({ code: inUse.code, stderr: inUse.stderr }).toEqual({
          code: 1,
          stderr: `error: cannot listen on 127.0.0.1:${taken.port}: the port is already in use\n`,
        });
        expectUsageError(
          await runCli([...command, "--host", "a b", "--port", "0"]),
          "cannot listen on a b:0: --host a b is no address of this machine",
        );
      }
    } finally {
      taken.stop(true);
    }
  });

  test("a well-formed target that cannot be reached stays a failure (exit 1), not a usage error", async () => {
    const dir = tempDir("unreachable-target");
    const result = await runCli([
      "--a",
      "db_init",
      "--c",
      CAMPAIGN,
      "--ct",
      TOKEN,
      "--api-url",
      sim.url,
      "--state",
      `file:${dir}/s.db`,
      "--url",
      "postgres://u:p@127.0.0.1:1/db",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot open the database at postgres://u@127.0.0.1:1/db");
  });
});

describe("files", () => {
  test("a refused token leaves no target or state file behind", async () => {
    const dir = tempDir("refused");
    const result = await runCli([...flatFlags("db_init", CAMPAIGN, "not-the-token", sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("refused the token");
    expect(readdirSync(dir)).toEqual([]);
  });

  test("without --url and --state the default data folder is still made", async () => {
    const data = join(tempDir("default-data"), "not", "yet");
    const result = await runCli(["--a", "db_init", "--c", CAMPAIGN, "--ct", TOKEN, "--api-url", sim.url], {
      env: { DBSYNC_DATA_DIR: data },
    });
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    expect(existsSync(join(data, `${CAMPAIGN}.db`))).toBe(true);
    expect(existsSync(join(data, "state.db"))).toBe(true);
  });
});

describe("configuration from the environment alone", () => {
  for (const prefix of ["DBSYNC", "DIALFIRE"]) {
    test(`no arguments and ${prefix}_A, _C, _CT, _URL: the sync runs`, async () => {
      const dir = tempDir(`env-only-${prefix}`);
      const result = await runCli([], {
        env: {
          [`${prefix}_A`]: "db_init",
          [`${prefix}_C`]: CAMPAIGN,
          [`${prefix}_CT`]: TOKEN,
          [`${prefix}_URL`]: `file:${dir}/t.db`,
          [`${prefix}_API_URL`]: sim.url,
          [`${prefix}_STATE`]: `file:${dir}/s.db`,
        },
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Logfile: ");
      expect(result.stderr).toContain("db_init finished");
      expect(existsSync(join(dir, "t.db"))).toBe(true);
    });
  }

  test("no arguments and an incomplete environment: the missing setting is named with its variable", async () => {
    const result = await runCli([], { env: { DBSYNC_A: "db_init", DBSYNC_CT: TOKEN } });
    expectUsageError(result, "the campaign ID (--c) is required (or DBSYNC_C)");
  });

  test("no arguments and no mode in the environment: the help, exit 0", async () => {
    const result = await runCli([], { env: { DBSYNC_C: CAMPAIGN } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("USAGE");
  });
});
