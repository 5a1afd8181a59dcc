// The alerts of a `dbsync run` replica fed from a real state store (a libSQL file): the lag read from
// a campaign's checkpoint gives one alert and one recovery; campaigns this replica does not run are
// not watched; a stopping replica closes the alerts it has open. Real HTTP to a receiver.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { DaemonAlerts, type WatchedCampaign } from "../src/campaign/alerts-daemon.ts";
import type { AlertSettings } from "../src/campaign/alerts.ts";
import { safeTargetUrl } from "../src/campaign/target-url.ts";
import { parseSyncConfig } from "../src/cli/sync-config.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import { tempDir } from "./helpers/run.ts";

const MINUTE = 60_000;
const dir = tempDir("alerts-daemon");
const received: { text: string; alerts: { name: string; kind: string; change: string; lagMs?: number }[] }[] = [];
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    received.push(await request.json());
    return new Response("ok");
  },
});
let state: StateStore;

beforeAll(async () => {
  state = await openStateStore(`file:${join(dir, "state.db")}`);
});
afterAll(async () => {
  await state.close();
  receiver.stop(true);
});

function campaign(id: string, mode: string): WatchedCampaign {
  const settings = parseSyncConfig({ c: id, ct: "token-0123456789", a: mode, url: `file:${join(dir, `${id}.db`)}` });
  return { key: `${id}|${mode}|${settings.url}`, label: `${id} ${mode}`, settings };
}

/** The checkpoint as a db_sync into a SQL target keys it. */
async function checkpointAt(watched: WatchedCampaign, at: number): Promise<void> {
  const { settings } = watched;
  const target = `${safeTargetUrl(settings.url as string)}|${settings.tablePrefix}`;
  await state.setCheckpoint({ campaign: settings.campaign, mode: settings.mode, target }, new Date(at).toISOString());
}

test("lag from the state store: one alert, one recovery; what this replica does not run is not watched; a stop closes what is open", async () => {
  let now = Date.parse("2026-03-01T12:00:00Z");
  const settings: AlertSettings = {
    url: `http://127.0.0.1:${receiver.port}/hook`,
    failingMs: 10 * MINUTE,
    lagMs: 30 * MINUTE,
    forMs: 5 * MINUTE,
  };
  const warnings: string[] = [];
  const alerts = new DaemonAlerts({
    state,
    replica: "r1",
    settings: () => settings,
    warn: (line) => warnings.push(line),
    clock: () => now,
  });
  const behind = campaign("LAGGING1", "db_sync");
  const elsewhere = campaign("ELSEWHERE1", "db_sync");
  const finished = campaign("FINISHED1", "db_init");
  // A db_init's checkpoint stays where it ended: no lag to speak of.
  await state.setCheckpoint({ campaign: "FINISHED1", mode: "db_init", target: "x" }, new Date(now - 1000 * MINUTE).toISOString());
  await checkpointAt(behind, now - 40 * MINUTE);
  // Run by another replica: its lag is that replica's to tell.
  await checkpointAt(elsewhere, now - 40 * MINUTE);
  const rounds = async (minutes: number) => {
    for (let step = 0; step < minutes * 4; step++) {
      now += MINUTE / 4;
      await alerts.check([behind, finished]);
    }
  };
  await rounds(4);
  expect(received).toHaveLength(0);
  await rounds(2);
  await Bun.sleep(200);
  expect(received.flatMap((message) => message.alerts.map((alert) => `${alert.name.split("|")[0]} ${alert.kind} ${alert.change}`))).toEqual(
    ["LAGGING1 lagging alert"],
  );
  expect(received[0]?.text).toMatch(/^dbsync run \(replica r1\):\nLAGGING: LAGGING1 db_sync: 4\d min behind/);

  await checkpointAt(behind, now - MINUTE);
  await rounds(10);
  await Bun.sleep(200);
  expect(received.map((message) => message.alerts.map((alert) => `${alert.kind} ${alert.change}`).join())).toEqual([
    "lagging alert",
    "lagging recovered",
  ]);

  await checkpointAt(behind, now - 60 * MINUTE);
  await rounds(6);
  await alerts.close();
  expect(received.map((message) => message.alerts.map((alert) => `${alert.kind} ${alert.change}`).join())).toEqual([
    "lagging alert",
    "lagging recovered",
    "lagging alert",
    "lagging unwatched",
  ]);
  expect(received[3]?.text).toContain("NO LONGER WATCHED HERE: LAGGING1 db_sync");
  expect(warnings).toEqual([]);
});

test("what a message quotes of an error goes through the process's mask", async () => {
  let now = 0;
  received.length = 0;
  const settings: AlertSettings = { url: `http://127.0.0.1:${receiver.port}/hook`, failingMs: MINUTE, lagMs: 30 * MINUTE, forMs: MINUTE };
  const mask = (text: string) => text.replaceAll("s3cret-password", "***");
  const alerts = new DaemonAlerts({ state, replica: "r1", settings: () => settings, mask, warn: () => {}, clock: () => now });
  const failing = campaign("FAILING1", "db_init");
  alerts.report(failing.key, "backing_off", "cannot connect to postgres://sync:s3cret-password@db/calls");
  now += 2 * MINUTE;
  await alerts.check([failing]);
  await alerts.close();
  expect(received).toHaveLength(2);
  expect(received[0]?.text).toContain(
    "FAILING: FAILING1 db_init: failing since 1970-01-01 00:00:00 UTC: cannot connect to postgres://sync:***@db/calls",
  );
  expect(JSON.stringify(received)).not.toContain("s3cret-password");
});
