// `dbsync run` with `alerts:` as a real process: a campaign with a wrong token gives exactly one alert
// at the webhook, none repeated while it keeps failing, and exactly one recovery once the token is
// fixed in the file; a healthy campaign next to it gives none; the hook's URL never reaches the console.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "../src/simulator/serve.ts";
import { until } from "./helpers/compare.ts";
import { CLI, collectOutput, tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

const CAMPAIGN = { id: "RUNALERTCAMPAIG1", token: "run-alert-token-0123456789" };
const WRONG_TOKEN = "run-alert-wrong-token-0123456789";
/** A Slack hook's path is its secret. */
const HOOK_PATH = "/services/T0ALERTS/B0ALERTS/hooksecretpart";

interface Alert {
  kind: string;
  change: string;
  name: string;
}

describe("dbsync run alerts", () => {
  const dir = tempDir("run-alerts");
  let simulator: RunningSimulator;
  const messages: { text: string; alerts: Alert[] }[] = [];
  let receiver: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    simulator = startSimulator({ campaignId: CAMPAIGN.id, token: CAMPAIGN.token, contacts: 50, seed: 71 });
    receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        if (new URL(request.url).pathname === HOOK_PATH) messages.push(await request.json());
        return new Response("ok");
      },
    });
  });
  afterAll(async () => {
    await simulator.stop();
    receiver.stop(true);
  });

  function configText(wrongToken: string): string {
    const campaign = (token: string, target: string) => `  - campaign: ${CAMPAIGN.id}
    token: ${token}
    mode: db_sync
    url: file:${target}.db
    api_url: ${simulator.url}
    interval: 0.3
    api_retries: 1
`;
    // Fractions of minutes: three seconds each. A round every second (a lease of 4 s).
    return `state: file:state.db
lease_seconds: 4
failure_wait_seconds: 0.2
failure_wait_max_seconds: 1
alerts:
  url: \${ALERT_HOOK}
  failing_minutes: 0.05
  for_minutes: 0.05
  lag_minutes: 10080
campaigns:
${campaign(CAMPAIGN.token, "healthy")}${campaign(wrongToken, "wrong")}`;
  }

  test("a wrong token: one alert; fixed in the file: one recovery; nothing more", async () => {
    const config = join(dir, "dbsync.yaml");
    writeFileSync(config, configText(WRONG_TOKEN));
    const child = Bun.spawn(["bun", CLI, "run", "--config", config], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        DBSYNC_DATA_DIR: join(dir, "data"),
        DBSYNC_LOG_DIR: join(dir, "logs"),
        ALERT_HOOK: `http://127.0.0.1:${receiver.port}${HOOK_PATH}`,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const console = collectOutput(child.stderr);
    void new Response(child.stdout).text();
    const kinds = () => messages.flatMap((message) => message.alerts.map((alert) => `${alert.kind} ${alert.change}`));
    try {
      expect(await until(async () => messages.length > 0, 20_000)).toBe(true);
      expect(kinds()).toEqual(["failing alert"]);
      expect(messages[0]?.alerts[0]?.name).toContain("wrong.db");
      expect(messages[0]?.text).toMatch(new RegExp(`FAILING: ${CAMPAIGN.id} db_sync → file:\\S*wrong\\.db: failing since `));
      // It keeps failing (several more attempts and rounds): still one message.
      await console.waitFor(/wrong\.db: failed \(10 in a row\)/);
      expect(kinds()).toEqual(["failing alert"]);

      writeFileSync(config, configText(CAMPAIGN.token));
      await console.waitFor(/applied: 0 added, 0 removed, 1 restarted, 1 unchanged/);
      expect(await until(async () => messages.length > 1, 20_000)).toBe(true);
      expect(kinds()).toEqual(["failing alert", "failing recovered"]);
      expect(messages[1]?.text).toMatch(new RegExp(`RECOVERED: ${CAMPAIGN.id} db_sync → file:\\S*wrong\\.db: running again since `));
      // Well past the thresholds again: nothing more.
      await Bun.sleep(5000);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    expect(kinds()).toEqual(["failing alert", "failing recovered"]);
    expect(console.text()).not.toContain("hooksecretpart");
    expect(console.text()).not.toContain(WRONG_TOKEN);
  });
});
