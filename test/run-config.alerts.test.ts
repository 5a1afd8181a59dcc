// `alerts:` in the config file of `dbsync run`: checked like the rest of the file, one line naming the
// file and the key, exit 2; the hook's URL (a Slack hook's path is its secret) never in a message.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../src/cli/argv.ts";
import { loadRunConfig } from "../src/cli/run-config.ts";
import { runCli, tempDir } from "./helpers/run.ts";

const dir = tempDir("run-config-alerts");
const CAMPAIGNS = "campaigns:\n  - campaign: ABC123\n    token: abc-token-0123456789\n    mode: db_sync\n    url: file:abc.db\n";
const SECRET_PATH = "T000/B000/hooksecretpart";

function file(name: string, alerts: string): string {
  const path = join(dir, name);
  writeFileSync(path, `alerts:\n${alerts}${CAMPAIGNS}`);
  return path;
}

async function mistake(path: string, env: Record<string, string> = {}): Promise<string> {
  try {
    await loadRunConfig(path, env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error("the file was accepted");
}

describe("alerts: in the file", () => {
  test("defaults: 10 minutes failing, 30 minutes behind for 5 minutes; variables expanded", async () => {
    const config = await loadRunConfig(file("defaults.yaml", `  url: $\{HOOK}\n`), { HOOK: `https://hooks.example/${SECRET_PATH}` });
    expect(config.alerts).toEqual({ url: `https://hooks.example/${SECRET_PATH}`, failingMs: 600_000, lagMs: 1_800_000, forMs: 300_000 });
  });

  test("fractions of minutes (for tests: seconds)", async () => {
    const path = file("seconds.yaml", "  url: http://127.0.0.1:9/hook\n  failing_minutes: 0.05\n  lag_minutes: 1.5\n  for_minutes: 0.1\n");
    expect((await loadRunConfig(path, {})).alerts).toEqual({ url: "http://127.0.0.1:9/hook", failingMs: 3000, lagMs: 90_000, forMs: 6000 });
  });

  test("without alerts: none", async () => {
    const path = join(dir, "none.yaml");
    writeFileSync(path, CAMPAIGNS);
    expect((await loadRunConfig(path, {})).alerts).toBeUndefined();
  });

  const cases: [string, string, string][] = [
    [
      "no url",
      "  failing_minutes: 5\n",
      "alerts: url is required: the webhook that gets the alerts (a Slack incoming webhook or any JSON receiver)",
    ],
    ["a url that is not http(s)", `  url: ftp://hooks.example/${SECRET_PATH}\n`, "alerts: url must be an http:// or https:// URL"],
    ["a url that is no URL", `  url: hooks.example/${SECRET_PATH}\n`, "alerts: url must be an http:// or https:// URL"],
    ["an unknown key", "  url: https://hooks.example/x\n  lag_minute: 5\n", 'alerts: unknown key "lag_minute" (did you mean lag_minutes?)'],
    ["a word for minutes", "  url: https://hooks.example/x\n  for_minutes: five\n", "alerts: for_minutes must be a number of minutes"],
    ["no time at all", "  url: https://hooks.example/x\n  failing_minutes: 0\n", "alerts: failing_minutes must be at least 0.01"],
  ];
  for (const [what, alerts, message] of cases) {
    test(`${what}: one line naming the file and the key`, async () => {
      const path = file(`${what.replaceAll(/\W+/g, "-")}.yaml`, alerts);
      const said = await mistake(path);
      expect(said).toBe(`${path}: ${message}`);
      expect(said).not.toContain("hooksecretpart");
    });
  }

  test("alerts that are not a set of keys", async () => {
    const path = join(dir, "list.yaml");
    writeFileSync(path, `alerts: https://hooks.example/${SECRET_PATH}\n${CAMPAIGNS}`);
    const said = await mistake(path);
    expect(said).toBe(`${path}: alerts: must be a set of keys (url, failing_minutes, lag_minutes, for_minutes)`);
  });

  test("the command line: one line, exit 2", async () => {
    const path = file("cli.yaml", `  url: ftp://hooks.example/${SECRET_PATH}\n`);
    const result = await runCli(["run", "--config", path]);
    expect(result.stderr).toBe(`error: ${path}: alerts: url must be an http:// or https:// URL\n`);
    expect(result.code).toBe(2);
  });
});
