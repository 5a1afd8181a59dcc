// The JSON log format and the retention of log files, through the real command line: every line of
// the console and of the log files of `sync`, `dbsync run` and `dbsync serve` is one JSON object with
// its time, level, campaign, mode and message; secrets are masked as in text; old log files of
// dbsync's own naming go when a new one is made, and nothing else in the folder does.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addSecret, createLogger } from "../src/cli/logger.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { until } from "./helpers/compare.ts";
import { CLI, collectOutput, flatFlags, runCli, serveUrl, tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

const CAMPAIGN = "LOGFORMATCAMP001";
const TOKEN = "log-format-token-0123456789";
const PASSWORD = "log-format-s3cret-pw";

let sim: RunningSimulator;
beforeAll(() => {
  sim = startSimulator({ campaignId: CAMPAIGN, token: TOKEN, contacts: 60, seed: 23 });
});
afterAll(() => sim.stop());

interface JsonLine {
  time: string;
  level: string;
  campaign?: string;
  mode?: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** Every line of `text` parsed as JSON (a line that is not fails the test) and checked for the keys every line has. */
function jsonLines(text: string): JsonLine[] {
  const lines = text.split("\n").filter((line) => line !== "");
  expect(lines.length).toBeGreaterThan(0);
  return lines.map((line) => {
    let parsed: JsonLine;
    try {
      parsed = JSON.parse(line) as JsonLine;
    } catch {
      throw new Error(`not a JSON line: ${line}`);
    }
    expect(parsed.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(["error", "warn", "note", "info", "debug", "trace"]).toContain(parsed.level);
    expect(typeof parsed.message).toBe("string");
    return parsed;
  });
}

function onlyFile(dir: string): string {
  const files = readdirSync(dir);
  expect(files).toHaveLength(1);
  return join(dir, files[0] as string);
}

describe("--log-format json of a sync", () => {
  test("console and log file: one JSON object per line naming the campaign and the mode", async () => {
    const dir = tempDir("log-json");
    const logs = join(dir, "logs");
    const result = await runCli(
      [
        ...flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`),
        "--log-format",
        "json",
        "--l",
        "5",
        "--d",
        "8",
      ],
      { env: { DBSYNC_LOG_DIR: logs } },
    );
    expect(result.code).toBe(0);
    const file = jsonLines(readFileSync(onlyFile(logs), "utf8"));
    const console = jsonLines(result.stderr);
    expect(result.stdout).toBe("");
    expect(console[0]?.message).toBe(`log file: ${onlyFile(logs)}`);
    for (const line of [...file, ...console])
      expect({ campaign: line.campaign, mode: line.mode }).toEqual({ campaign: CAMPAIGN, mode: "db_init" });
    expect(file.some((line) => line.level === "debug")).toBe(true);
    expect(file.find((line) => line.message.startsWith("db_init finished"))?.level).toBe("info");
    expect(console.some((line) => line.message.startsWith("db_init finished"))).toBe(true);
    expect(result.stderr + readFileSync(onlyFile(logs), "utf8")).not.toContain(TOKEN);
  });

  test("DBSYNC_LOG_FORMAT=json does the same, and --v sends the JSON lines to stdout", async () => {
    const dir = tempDir("log-json-env");
    const result = await runCli([...flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--v"], {
      env: { DBSYNC_LOG_FORMAT: "json" },
    });
    expect(result.code).toBe(0);
    // Nothing but JSON lines, the one naming where the log goes included.
    const lines = jsonLines(result.stdout);
    expect(lines[0]).toMatchObject({ level: "info", campaign: CAMPAIGN, mode: "db_init", message: "log file: stdout" });
    expect(lines.some((line) => line.message.startsWith("db_init finished") && line.mode === "db_init")).toBe(true);
  });

  test("a secret is masked in a JSON line, message and fields, exactly as in the text line", () => {
    addSecret(PASSWORD);
    const line = `cannot reach postgres://dbsync:other-pw@db/x?sslkey=k3y with ${PASSWORD}, token=abc123def and dbs_${"A".repeat(43)}`;
    const write = (format: "text" | "json") => {
      const logFile = join(tempDir(`log-mask-${format}`), "ABC_db_sync_20260101000000.log");
      const log = createLogger({
        verbose: false,
        level: 4,
        logFile,
        consoleLevel: -1,
        format,
        context: { campaign: "ABC", mode: "db_sync" },
      });
      log.error(line, { url: `postgres://dbsync:${PASSWORD}@db/x`, attempt: 2 });
      return readFileSync(logFile, "utf8");
    };
    const text = write("text");
    const json = jsonLines(write("json"));
    expect(text + JSON.stringify(json)).not.toMatch(new RegExp(`${PASSWORD}|other-pw|k3y|abc123def|A{43}`));
    expect(json).toHaveLength(1);
    expect(text).toMatch(/^\S+ ERROR (.*)\n$/);
    expect(json[0]?.message).toBe(/^\S+ ERROR (.*)\n$/.exec(text)?.[1] ?? "");
    expect(json[0]?.message).toContain("postgres://dbsync:***@db/x?sslkey=***");
    expect(json[0]).toMatchObject({
      level: "error",
      campaign: "ABC",
      mode: "db_sync",
      fields: { url: "postgres://dbsync:***@db/x", attempt: 2 },
    });
  });

  test("a bad --log-format or --log-keep-days is a usage error of one line", async () => {
    const flags = flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, "file:/nonexistent/t.db", "file:/nonexistent/s.db");
    const cases: [string[], Record<string, string>, string][] = [
      [["--log-format", "xml"], {}, 'error: --log-format must be text or json (not "xml")\n'],
      [[], { DBSYNC_LOG_FORMAT: "xml" }, 'error: DBSYNC_LOG_FORMAT must be text or json (not "xml")\n'],
      [["--log-keep-days", "-1"], {}, "error: --log-keep-days must be a whole number of days (0 keeps every log file)\n"],
      [["--log-keep-days", "99999"], {}, "error: --log-keep-days must be at most 3650 (ten years)\n"],
    ];
    for (const [extra, env, message] of cases) {
      const result = await runCli([...flags, ...extra], { env });
      expect({ code: result.code, stderr: result.stderr, stdout: result.stdout }).toEqual({ code: 2, stderr: message, stdout: "" });
    }
    const serve = await runCli(["serve", "--url", "file:/nonexistent.db", "--log-format", "yaml"]);
    expect({ code: serve.code, stderr: serve.stderr }).toEqual({
      code: 2,
      stderr: 'error: --log-format must be text or json (not "yaml")\n',
    });
  });

  test("--help names both flags", async () => {
    const help = await runCli(["sync", "--help"]);
    expect(help.stdout).toContain("--log-format");
    expect(help.stdout).toContain("--log-keep-days");
    const serve = await runCli(["serve", "--help"]);
    expect(serve.stdout).toContain("--log-format");
    expect(serve.stdout).toContain("--log-keep-days");
  });
});

/** A log folder holding dbsync's files of several ages and other programs' files, old and new. */
function crowdedLogFolder(dir: string) {
  const logs = join(dir, "logs");
  mkdirSync(logs);
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
  const put = (name: string, days: number) => {
    const path = join(logs, name);
    writeFileSync(path, "x\n");
    utimesSync(path, daysAgo(days), daysAgo(days));
    return name;
  };
  return {
    logs,
    ownOld: [
      put(`${CAMPAIGN}_db_sync_20200101000000.log`, 40),
      put("OTHERCAMPAIGN_webhook_20200101000000_2.log", 31),
      put("serve_8080_20200101000000.log", 400),
    ],
    ownRecent: [put(`${CAMPAIGN}_db_init_20200101000000.log`, 29)],
    foreign: [
      put("notes.txt", 400),
      put("backup_20200101000000.log", 400),
      put(`${CAMPAIGN}_db_sync_20200101000000.log.gz`, 400),
      put(`${CAMPAIGN}_db_sync_2020.log`, 400),
    ],
  };
}

describe("--log-keep-days", () => {
  test("a new log file deletes dbsync's files older than 30 days, says how many, and leaves every other file", async () => {
    const dir = tempDir("log-keep");
    const folder = crowdedLogFolder(dir);
    const result = await runCli(
      [...flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`), "--log-format", "json"],
      { env: { DBSYNC_LOG_DIR: folder.logs } },
    );
    expect(result.code).toBe(0);
    const left = readdirSync(folder.logs);
    for (const name of folder.ownOld) expect(left).not.toContain(name);
    for (const name of [...folder.ownRecent, ...folder.foreign]) expect(left).toContain(name);
    expect(result.stdout).toBe("");
    const own =
      jsonLines(result.stderr)
        .find((line) => line.message.startsWith("log file: "))
        ?.message.slice(10) ?? "";
    expect(existsSync(own)).toBe(true);
    expect(left).toHaveLength(folder.ownRecent.length + folder.foreign.length + 1);
    const said = jsonLines(readFileSync(own, "utf8")).find((line) => line.message.startsWith("removed "));
    expect(said).toMatchObject({
      level: "info",
      message: `removed 3 log files older than 30 days from ${folder.logs}`,
      fields: { removed: 3, keepDays: 30 },
    });
  });

  test("0 keeps every file; DBSYNC_LOG_KEEP_DAYS sets the days", async () => {
    const dir = tempDir("log-keep-0");
    const folder = crowdedLogFolder(dir);
    const flags = flatFlags("db_init", CAMPAIGN, TOKEN, sim.url, `file:${dir}/t.db`, `file:${dir}/s.db`);
    const kept = await runCli([...flags, "--log-keep-days", "0"], { env: { DBSYNC_LOG_DIR: folder.logs } });
    expect(kept.code).toBe(0);
    expect(readdirSync(folder.logs)).toHaveLength(folder.ownOld.length + folder.ownRecent.length + folder.foreign.length + 1);
    const narrower = await runCli(flags, { env: { DBSYNC_LOG_DIR: folder.logs, DBSYNC_LOG_KEEP_DAYS: "35" } });
    expect(narrower.code).toBe(0);
    const left = readdirSync(folder.logs);
    expect(left).not.toContain(folder.ownOld[0]);
    expect(left).not.toContain(folder.ownOld[2]);
    expect(left).toContain(folder.ownOld[1]);
    const own = /Logfile: (\S+)/.exec(narrower.stdout)?.[1] ?? "";
    expect(readFileSync(own, "utf8")).toMatch(/^\S+ INFO removed 2 log files older than 35 days from /m);
  });
});

describe("dbsync run with log_format: json", () => {
  test("the console and each campaign's file are JSON lines; the campaign's lines name it; old files go", async () => {
    const dir = tempDir("run-log-json");
    const folder = crowdedLogFolder(dir);
    const config = join(dir, "dbsync.yaml");
    writeFileSync(
      config,
      `state: file:state.db
log_format: json
log_keep_days: 30
campaigns:
  - campaign: ${CAMPAIGN}
    token: \${TOKEN}
    mode: db_init
    url: postgres://dbsync:\${PASSWORD}@127.0.0.1:9/nowhere
    api_url: ${sim.url}
  - campaign: ${CAMPAIGN}
    token: \${TOKEN}
    mode: db_sync
    url: file:sync.db
    api_url: ${sim.url}
    interval: 0.3
`,
    );
    const child = Bun.spawn(["bun", CLI, "run", "--config", config], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, DBSYNC_DATA_DIR: join(dir, "data"), DBSYNC_LOG_DIR: folder.logs, TOKEN, PASSWORD },
      stdout: "pipe",
      stderr: "pipe",
    });
    const console = collectOutput(child.stderr);
    void new Response(child.stdout).text();
    try {
      await console.waitFor(/"mode":"db_init","message":"[^"]*failed \(1 in a row\)/);
      const caughtUp = () =>
        readdirSync(folder.logs).some(
          (name) => name.includes("_db_sync_") && readFileSync(join(folder.logs, name), "utf8").includes("caught up"),
        );
      expect(await until(async () => caughtUp(), 20_000)).toBe(true);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
    const lines = jsonLines(console.text());
    expect(console.text()).not.toContain(PASSWORD);
    expect(console.text()).not.toContain(TOKEN);
    expect(lines[0]).toMatchObject({ level: "info", mode: "run" });
    expect(lines[0]?.campaign).toBeUndefined();
    const aboutSync = lines.filter((line) => line.message.startsWith(`${CAMPAIGN} db_sync`));
    expect(aboutSync.length).toBeGreaterThan(1);
    for (const line of aboutSync) expect(line).toMatchObject({ campaign: CAMPAIGN, mode: "db_sync" });
    expect(aboutSync.some((line) => line.fields !== undefined)).toBe(false);

    const left = readdirSync(folder.logs);
    for (const name of folder.ownOld) expect(left).not.toContain(name);
    for (const name of [...folder.ownRecent, ...folder.foreign]) expect(left).toContain(name);
    const made = left.filter((name) => ![...folder.ownRecent, ...folder.foreign].includes(name));
    expect(made).toHaveLength(2);
    for (const name of made) {
      const mode = name.includes("_db_sync_") ? "db_sync" : "db_init";
      const text = readFileSync(join(folder.logs, name), "utf8");
      expect(text).not.toContain(PASSWORD);
      for (const line of jsonLines(text)) expect({ campaign: line.campaign, mode: line.mode }).toEqual({ campaign: CAMPAIGN, mode });
    }
  });

  test("a log_format or log_keep_days the file cannot have stops dbsync run with one line and exit 2", async () => {
    const dir = tempDir("run-log-bad");
    const write = (top: string) => {
      const config = join(dir, "dbsync.yaml");
      writeFileSync(config, `${top}\ncampaigns:\n  - campaign: ${CAMPAIGN}\n    token: t0k3n-value\n    mode: db_init\n`);
      return config;
    };
    const format = await runCli(["run", "--config", write("log_format: xml")]);
    expect({ code: format.code, stderr: format.stderr }).toEqual({
      code: 2,
      stderr: `error: ${join(dir, "dbsync.yaml")}: log_format must be text or json (not "xml")\n`,
    });
    const days = await runCli(["run", "--config", write("log_keep_days: many")]);
    expect({ code: days.code, stderr: days.stderr }).toEqual({
      code: 2,
      stderr: `error: ${join(dir, "dbsync.yaml")}: log_keep_days must be a whole number of days (0 keeps every log file)\n`,
    });
    const variable = await runCli(["run", "--config", write("")], { env: { DBSYNC_LOG_FORMAT: "xml" } });
    expect({ code: variable.code, stderr: variable.stderr }).toEqual({
      code: 2,
      stderr: 'error: DBSYNC_LOG_FORMAT must be text or json (not "xml")\n',
    });
  });
});

describe("dbsync serve --log-format json", () => {
  test("its access lines are JSON lines with the request's method, route, status and duration as fields", async () => {
    const dir = tempDir("serve-log-json");
    writeFileSync(join(dir, "target.db"), "");
    const logs = join(dir, "logs");
    const server = Bun.spawn(
      ["bun", CLI, "serve", "--url", `file:${join(dir, "target.db")}`, "--state", `file:${join(dir, "state.db")}`, "--port", "0"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          DBSYNC_DATA_DIR: join(dir, "data"),
          DBSYNC_LOG_DIR: logs,
          DBSYNC_LOG_FORMAT: "json",
        },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const stderr = collectOutput(server.stderr);
    try {
      const base = await serveUrl(server, stderr.text);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/no/such/path?token=${TOKEN}`)).status).toBe(404);
    } finally {
      server.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
    const text = readFileSync(onlyFile(logs), "utf8");
    expect(text).not.toContain(TOKEN);
    const lines = jsonLines(text);
    for (const line of lines) expect(line.mode).toBe("serve");
    const health = lines.find((line) => line.fields?.route === "/healthz");
    expect(health).toMatchObject({ level: "info", fields: { method: "GET", route: "/healthz", status: 200, aborted: false } });
    expect(health?.message).toMatch(/^GET \/healthz 200 \d/);
    expect(typeof health?.fields?.ms).toBe("number");
    expect(lines.find((line) => line.fields?.route === "unmatched")).toMatchObject({ fields: { method: "GET", status: 404 } });
    // The console's warnings (no Talkdesk credentials, no tokens) and the signal's notice are JSON lines too.
    const console = jsonLines(stderr.text());
    expect(console.filter((line) => line.level !== "warn").map((line) => line.message)).toEqual([
      "SIGTERM received: stopping after the current step (again to force)",
    ]);
    for (const line of console) expect(line.mode).toBe("serve");
  });
});
