// Events the API shows minutes after their time: db_sync reads each poll's window back by the
// look-back, so they are picked up by the next poll instead of the next re-listing.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { withEnvironment } from "../src/cli/argv.ts";
import { pipelineSettings } from "../src/campaign/settings.ts";
import { parseSyncConfig, SYNC_FLAGS } from "../src/cli/sync-config.ts";
import { closeHarnesses, type Harness, HOUR, harness, passed } from "./helpers/db-sync-harness.ts";

setDefaultTimeout(60_000);

afterEach(closeHarnesses);

describe("events the API shows late", () => {
  /** Activity whose events the API shows only `lateMs` after their time (the clock stands still meanwhile). */
  function lateActivity(h: Harness, lateMs: number): void {
    h.clock.jump(-lateMs);
    for (let i = 0; i < 3; i++) h.sim.campaign.tick();
    h.clock.jump(lateMs);
  }

  test("6 minutes late: the next poll picks them up with the default look-back", async () => {
    const h = await harness(61);
    h.start();
    h.clock.jump(20 * 60_000);
    expect(await passed(h, h.clock.ms())).toBe(true);
    lateActivity(h, 6 * 60_000);
    expect(await h.differences()).not.toBe(""); // there is something to pick up
    expect(await passed(h, h.clock.ms())).toBe(true);
    expect(await h.differences()).toBe("");
  });

  test("with a look-back shorter than their lateness they wait for the re-listing", async () => {
    const h = await harness(61);
    h.start({ lookbackMs: 2 * 60_000 });
    h.clock.jump(20 * 60_000);
    expect(await passed(h, h.clock.ms())).toBe(true);
    lateActivity(h, 6 * 60_000);
    const published = h.clock.ms();
    expect(await passed(h, published)).toBe(true);
    await Bun.sleep(200); // more polls
    expect(await h.differences()).not.toBe("");
    h.clock.jump(13 * HOUR); // past the re-listing (every 12 hours by default)
    expect(await passed(h, h.clock.ms())).toBe(true);
    expect(await h.differences()).toBe("");
  });

  test("the look-back's events seen before are not fetched again by the polls after", async () => {
    const h = await harness(62);
    h.start();
    expect(await passed(h, h.clock.ms())).toBe(true);
    for (let i = 0; i < 3; i++) h.sim.campaign.tick();
    expect(await passed(h, h.clock.ms())).toBe(true);
    const fetchedOnce = h.fetched.length;
    expect(fetchedOnce).toBeGreaterThan(0);
    h.clock.jump(5 * 60_000); // the activity stays within the look-back of the polls to come
    expect(await passed(h, h.clock.ms())).toBe(true);
    await Bun.sleep(200);
    expect(h.fetched.length).toBe(fetchedOnce);
    expect(await h.differences()).toBe("");
  });
});

describe("--lookback", () => {
  const base = { a: "db_sync", c: "C", ct: "token-123" };

  test("minutes, 15 by default, in db_sync and webhook mode, also as DBSYNC_LOOKBACK", () => {
    expect(pipelineSettings(parseSyncConfig(base)).lookbackMs).toBe(15 * 60_000);
    expect(pipelineSettings(parseSyncConfig({ ...base, lookback: "30" })).lookbackMs).toBe(30 * 60_000);
    const webhook = parseSyncConfig({ ...base, a: "webhook", url: "https://example.org/hook", lookback: "0.5" });
    expect(pipelineSettings(webhook).lookbackMs).toBe(30_000);
    const fromEnv = withEnvironment(base, SYNC_FLAGS, { DBSYNC_LOOKBACK: "45" });
    expect(pipelineSettings(parseSyncConfig(fromEnv)).lookbackMs).toBe(45 * 60_000);
  });

  test("anything but a number of minutes up to a day is refused, naming the flag", () => {
    expect(() => parseSyncConfig({ ...base, lookback: "10m" })).toThrow("--lookback must be a number of minutes");
    expect(() => parseSyncConfig({ ...base, lookback: "-1" })).toThrow("--lookback must be a number of minutes");
    expect(() => parseSyncConfig({ ...base, lookback: "1441" })).toThrow("--lookback must be at most 1440");
  });
});
