// The real command line in a child process: exit codes, messages, env variables, log files.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileTimestamp } from "../src/cli/paths.ts";
import { openStateStore } from "../src/state/open.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { CLI, runCli, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(60_000);

const TOKEN = "cli-token-abcdefghijklmnopqrstuvwxyz";
const CAMPAIGN = "CLICAMPAIGN00001";
let sim: RunningSimulator;

beforeAll(() => {
  sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 150, seed: 17 });
});
afterAll(() => sim.stop());

/** One line, no stack trace. */
function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines.at(-1) ?? "";
}

function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
}

describe("usage", () => {
  test("--help lists the flags and examples, exit 0", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("db_sync");
    const sync = await runCli(["sync", "--help"]);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain("--fp");
    expect(sync.stdout).toContain("Examples");
    const replay = await runCli(["webhook", "replay", "--help"]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain("--since");
    const webhook = await runCli(["webhook"]);
    expect(webhook.code).toBe(2);
    expect(webhook.stdout).toContain("failed");
    expect(webhook.stderr).toBe('error: "webhook" needs a subcommand: failed, replay\n');
  });

  test("an unknown flag: one line, exit 2", async () => {
    const result = await runCli(["--a", "db_init", "--c", "X", "--ct", "Y", "--campaign", "Z"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: unknown flag --campaign (see --help for the flags)");
  });

  test("missing and invalid values: one line each, exit 2", async () => {
    const cases: [string[], string][] = [
      [["--a", "db_init", "--ct", "Y"], "the campaign ID (--c) is required"],
      [["--a", "db_init", "--c", "X"], "Sync Client token (--ct) is required"],
      [["--a", "db_magic", "--c", "X", "--ct", "Y"], "invalid mode --a db_magic"],
      [["--a", "db_init", "--c", "X", "--ct", "Y", "--s", "last week"], "--s must be a date"],
      [["--a", "db_init", "--c", "X", "--ct", "Y", "--w", "lots"], "--w must be a whole number"],
      [["--a", "db_init", "--c", "X", "--ct", "Y", "stray"], 'unexpected argument "stray"'],
      [["--a", "webhook", "--c", "X", "--ct", "Y"], "webhook mode needs --url"],
      [["--a", "webhook", "--c", "X", "--ct", "Y", "--url", "https://h/", "--webhook-secret", "x"], "--webhook-secret: "],
      [["webhook", "replay", "--since", "yesterday"], "--since must be a date"],
      [["webhook", "resend"], 'unknown command "webhook resend": use failed, replay'],
      [["serve"], "the database (--url) is required"],
      [["serve", "--url", "file:x.db", "--port", "99999"], "--port must be at most 65535"],
      [
        ["serve", "--url", "file:x.db", "--talkdesk-mapping", "/nonexistent/mapping.json"],
        "--talkdesk-mapping /nonexistent/mapping.json: cannot be read",
      ],
      [["tokens", "revoke"], "--id is required"],
      [["phonecalls", "push", "--target", "https://x", "--token", "t"], "the Asterisk database (--cdr) is required"],
      [["phonecalls", "push", "--cdr", "mysql://u:p@127.0.0.1:1/a", "--target", "https://x"], "an HTTP target needs the service's token"],
      [
        ["phonecalls", "push", "--cdr", "mysql://u:p@h/a", "--target", "https://x", "--token", "t", "--cdr-timezone", "Mars/Base"],
        "unknown time zone",
      ],
      [["tokens", "list", "--state", "file:/nonexistent/state.db"], "no state store at /nonexistent/state.db"],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(argv);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain(message);
    }
  });

  test("a malformed --cdr: one line, exit 2, password not shown", async () => {
    const result = await runCli([
      "phonecalls",
      "push",
      "--cdr",
      "mysql//asterisk:hunter22@pbx/asterisk",
      "--target",
      "https://x",
      "--token",
      "t",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("--cdr must be the Asterisk MySQL/MariaDB database");
    expect(result.stderr).not.toContain("hunter22");
  });

  test("a malformed --url: one line, exit 2, password not shown", async () => {
    for (const url of ["nonsense", "mysql//user:pw@host/db", "ftp://user:hunter22@host/db"]) {
      const result = await runCli(["--a", "db_init", "--c", CAMPAIGN, "--ct", TOKEN, "--api-url", sim.url, "--url", url]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(/^error: .*(URL|url|database)/);
      expect(result.stderr).not.toContain("hunter22");
      expectNoStackTrace(result.stderr);
    }
  });
});

describe("failures at run time", () => {
  test("a wrong token: exit non-zero within seconds, naming the token but not showing it", async () => {
    const dir = tempDir("wrong-token");
    const result = await runCli([
      "--a",
      "db_sync",
      "--c",
      CAMPAIGN,
      "--ct",
      "not-the-token",
      "--api-url",
      sim.url,
      "--url",
      `file:${dir}/t.db`,
    ]);
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(10_000);
    expect(lastLine(result.stderr)).toContain("refused the token");
    expect(lastLine(result.stderr)).toContain("--ct");
    expect(result.stderr + result.stdout).not.toContain("not-the-token");
    expectNoStackTrace(result.stderr);
  });

  test("an unreachable API: one clear line, exit 1", async () => {
    const dir = tempDir("unreachable");
    const result = await runCli([
      "--a",
      "db_init",
      "--c",
      CAMPAIGN,
      "--ct",
      TOKEN,
      "--api-url",
      "http://127.0.0.1:9",
      "--api-retries",
      "2",
      "--url",
      `file:${dir}/t.db`,
    ]);
    expect(result.code).toBe(1);
    expect(lastLine(result.stderr)).toMatch(
      /^error: GET \/api\/campaigns\/CLICAMPAIGN00001\/fields\/list failed after 2 attempts: cannot reach http:\/\/127\.0\.0\.1:9/,
    );
    expectNoStackTrace(result.stderr);
  });
});

describe("the original's ways of calling it", () => {
  test("single-dash flags, a log file named {campaign}_{mode}_{timestamp}.log without the token", async () => {
    const dir = tempDir("flat");
    const logs = join(dir, "logs");
    const result = await runCli(
      [
        "-a",
        "db_init",
        "-c",
        CAMPAIGN,
        "-ct",
        TOKEN,
        "-api-url",
        sim.url,
        "-url",
        `file:${dir}/t.db`,
        "-state",
        `file:${dir}/s.db`,
        "-l",
        "5",
      ],
      { env: { DBSYNC_LOG_DIR: logs } },
    );
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    const files = readdirSync(logs);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${CAMPAIGN}_db_init_\\d{14}\\.log$`));
    expect(result.stdout).toContain(`Logfile: ${join(logs, files[0] as string)}`);
    const log = readFileSync(join(logs, files[0] as string), "utf8");
    expect(log).toContain("db_init finished");
    expect(log).not.toContain(TOKEN);
  });

  test("--l 0 quiets the console as it quiets the log file: a run that goes well says nothing on stderr", async () => {
    const dir = tempDir("quiet");
    const result = await runCli([...flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--l", "0"]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("a run started in the same second as another of the same campaign and mode gets a log file of its own", async () => {
    const dir = tempDir("same-second");
    const logs = join(dir, "logs");
    mkdirSync(logs);
    // The other run's files, for every second this run may start in.
    const started = Date.now();
    const taken = Array.from({ length: 20 }, (_, i) =>
      join(logs, `${CAMPAIGN}_db_init_${fileTimestamp(new Date(started + i * 1000))}.log`),
    );
    for (const file of taken) writeFileSync(file, "the other run\n");
    const result = await runCli(
      ["--a", "db_init", "--c", CAMPAIGN, "--ct", TOKEN, "--api-url", sim.url, "--url", `file:${dir}/t.db`, "--state", `file:${dir}/s.db`],
      { env: { DBSYNC_LOG_DIR: logs, TZ: Intl.DateTimeFormat().resolvedOptions().timeZone } },
    );
    expect(result.code).toBe(0);
    for (const file of taken) expect(readFileSync(file, "utf8")).toBe("the other run\n");
    const own = /Logfile: (\S+)/.exec(result.stdout)?.[1] ?? "";
    expect(own).toMatch(new RegExp(`/${CAMPAIGN}_db_init_\\d{14}_2\\.log$`));
    expect(readFileSync(own, "utf8")).toContain("db_init finished");
  });

  test("without a terminal a long db_init logs its progress at least every 10 s: done of total, rows/s, time left", async () => {
    const slow = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 1000, seed: 18, faults: { slowRate: 1, slowMs: 250 } });
    try {
      const dir = tempDir("progress");
      const result = await runCli(
        [...flatFlags("db_init", CAMPAIGN, TOKEN, slow.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--w", "1"],
        { env: { DBSYNC_LOG_DIR: join(dir, "logs") } },
      );
      expect(result.code).toBe(0);
      expect(result.ms).toBeGreaterThan(11_000); // the run lasted longer than one period
      const progress = result.stderr.split("\n").filter((line) => line.startsWith("listing: "));
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress[0]).toMatch(/^listing: [\d,]+ of 1,000 contacts done \(\d+%\) · [\d,]+ rows\/s · about \d+ (s|min) left$/);
    } finally {
      await slow.stop();
    }
  });

  test("every flag as DBSYNC_<FLAG>; --v logs to stdout", async () => {
    const dir = tempDir("env");
    const result = await runCli(["--v"], {
      env: {
        DBSYNC_A: "db_init",
        DBSYNC_C: CAMPAIGN,
        DBSYNC_CT: TOKEN,
        DBSYNC_API_URL: sim.url,
        DBSYNC_URL: `file:${dir}/t.db`,
        DBSYNC_STATE: `file:${dir}/s.db`,
        DBSYNC_TP: "mcall_",
      },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Logfile: stdout");
    expect(result.stdout).toContain("tables mcall_*");
    expect(result.stdout).toContain("db_init finished");
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });
});

describe("signals", () => {
  test("SIGTERM stops db_sync gracefully: exit 0, checkpoint saved", async () => {
    const dir = tempDir("sigterm");
    const child = Bun.spawn(
      ["bun", CLI, ...flatFlags("db_sync", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--interval", "0.5"],
      { env: { ...process.env, HOME: dir, DBSYNC_LOG_DIR: join(dir, "logs") }, stdout: "pipe", stderr: "pipe" },
    );
    const state = await openStateStore(`file:${dir}/s.db`);
    const key = { campaign: CAMPAIGN, mode: "db_sync", target: `file:${dir}/t.db|` };
    const deadline = Date.now() + 20_000;
    while (!(await state.getCheckpoint(key)) && Date.now() < deadline) await Bun.sleep(100);
    const first = await state.getCheckpoint(key);
    expect(first).toBeDefined();
    await Bun.sleep(1200); // a few polls move the watermark on
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const last = await state.getCheckpoint(key);
    await state.close();
    expect(Date.parse(last?.value ?? "")).toBeGreaterThan(Date.parse(first?.value ?? ""));
  });
});

describe("dbsync simulate", () => {
  test("serves the campaign on loopback with Bearer auth, stops on SIGTERM", async () => {
    const child = Bun.spawn(["bun", CLI, "simulate", "--port", "0", "--contacts", "40", "--campaign", "SIMCLI", "--token", "sim-token"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = child.stdout.getReader();
    let text = "";
    while (!/on (http:\/\/\S+)/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const url = /on (http:\/\/\S+)/.exec(text)?.[1] as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await fetch(`${url}/api/campaigns/SIMCLI/contacts/list?limit=1000`, { headers: { Authorization: "Bearer sim-token" } });
    expect(((await ok.json()) as { results: unknown[] }).results).toHaveLength(40);
    const refused = await fetch(`${url}/api/campaigns/SIMCLI/fields/list`, { headers: { Authorization: "Bearer nope" } });
    expect(refused.status).toBe(403);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });

  test("bad simulator flags: one line, exit 2", async () => {
    const result = await runCli(["simulate", "--port", "http"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: --port must be a number");
  });
});

describe("dbsync demo", () => {
  test("runs by itself, exits 0, and leaves other files in its folder alone", async () => {
    const dir = tempDir("demo");
    await Bun.write(join(dir, "precious.txt"), "keep me");
    const result = await runCli(["demo", "--dir", dir, "--contacts", "80"], { timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("db_init copies the whole campaign");
    expect(result.stdout).toMatch(/after 3 s: .*transactions \+\d+/);
    expect(await Bun.file(join(dir, "precious.txt")).text()).toBe("keep me");
    expect(result.ms).toBeLessThan(60_000);
  });

  test("a bad --contacts: one line, exit 2", async () => {
    const result = await runCli(["demo", "--contacts", "lots"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: --contacts must be a whole number from 1 to 100000");
  });
});
