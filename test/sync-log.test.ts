// What a sync writes to its log without a terminal: progress lines of long listings, a line per
// poll that wrote something, and the names of the columns new fields got.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createProgress } from "../src/cli/progress.ts";
import { createDialfireClient } from "../src/core/dialfire/client.ts";
import { createSqlSink } from "../src/core/sql/sink.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import type { DialfireSource } from "../src/core/sync/source.ts";
import { openStateStore } from "../src/state/open.ts";
import { runSync } from "../src/core/sync/pipeline.ts";
import { fieldsLine } from "../src/core/sync/report.ts";
import { openDialect } from "../src/dialects/index.ts";
import { startSimulator } from "../src/simulator/serve.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { CAMPAIGN, closeHarnesses, harness, KEY, passed, silent } from "./helpers/db-sync-harness.ts";
import { tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

afterEach(closeHarnesses);

/** A logger keeping its info lines. */
function recorder() {
  const lines: string[] = [];
  return { lines, log: { ...silent, info: (line: string) => void lines.push(line) } };
}

function slowListing(source: DialfireSource, pauseMs: number): DialfireSource {
  return {
    ...source,
    async *listContacts(changedSince, signal) {
      for await (const page of source.listContacts(changedSince, signal)) {
        await Bun.sleep(pauseMs);
        yield page;
      }
    },
  };
}

describe("progress of a listing without a terminal", () => {
  test("a line every period: done and listed so far, then done of the total with rows/s and the time left; none after the end", async () => {
    // Answers slowed down so that the run lasts a few periods; 2,500 contacts are three listing pages,
    // which come slower still: lines before the listing's end say how many were listed so far.
    const sim = startSimulator({ campaignId: CAMPAIGN, token: "t", contacts: 2500, seed: 71, faults: { slowRate: 1, slowMs: 25 } });
    const dir = tempDir("progress-log");
    const target = new SqlTarget(await openDialect(`file:${dir}/target.db`), "");
    const state = await openStateStore(`file:${dir}/state.db`);
    const lines: string[] = [];
    const notATerminal = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const progress = createProgress(notATerminal, true, { log: (line) => void lines.push(line), everyMs: 100 });
    try {
      await runSync({
        mode: "db_init",
        source: slowListing(createDialfireClient({ baseUrl: sim.url, campaign: CAMPAIGN, token: "t" }), 300),
        sink: createSqlSink(target, { filter: {} }),
        state,
        checkpointKey: KEY,
        eventFilters: {},
        workers: 2,
        intervalMs: 1000,
        log: silent,
        onProgress: (stats) => progress.update(stats),
        signal: new AbortController().signal,
      });
      progress.clear();
      const atEnd = lines.length;
      await Bun.sleep(300);
      expect(lines.length).toBe(atEnd);
    } finally {
      await target.close();
      await state.close();
      await sim.stop();
    }
    expect(
      lines.some((line) =>
        /^listing: [\d,]+ contacts done, [\d,]+ listed so far \(the total is known once the listing ends\) · [\d,]+ rows\/s$/.test(line),
      ),
    ).toBe(true);
    const final = lines.filter((line) => line.includes("of 2,500 contacts done"));
    expect(final.length).toBeGreaterThan(0);
    expect(final.at(-1)).toMatch(/^listing: [\d,]+ of 2,500 contacts done \(\d+%\) · [\d,]+ rows\/s · about \d+ (s|min) left$/);
  });
});

describe("db_sync's log", () => {
  test("one line per poll that wrote something: contacts, rows per table, lag; nothing for a poll that wrote nothing", async () => {
    const h = await harness(72);
    const { lines, log } = recorder();
    h.start({ log });
    expect(await passed(h, h.clock.ms())).toBe(true);
    const polls = () => lines.filter((line) => line.startsWith("poll: "));
    const beforeActivity = polls().length;
    for (let i = 0; i < 3; i++) h.sim.campaign.tick();
    expect(await passed(h, h.clock.ms())).toBe(true);
    const afterActivity = polls().length;
    expect(afterActivity).toBeGreaterThan(beforeActivity);
    expect(polls().at(-1)).toMatch(
      /^poll: [1-9]\d* contacts? fetched; rows written: contacts [1-9]\d*, transactions [1-9]\d*.*; lag \d+\.\d s$/,
    );
    const quiet = polls().length;
    await Bun.sleep(300); // polls that find nothing
    expect(polls().length).toBe(quiet);
  });

  test("a field added while it runs is named in the line about its new column", async () => {
    const h = await harness(73);
    const { lines, log } = recorder();
    h.start({ log });
    expect(await passed(h, h.clock.ms())).toBe(true);
    let added: string | undefined;
    for (let i = 0; i < 400 && !added; i++) added = h.sim.campaign.tick().newFields[0];
    expect(added).toBeDefined();
    expect(await passed(h, h.clock.ms())).toBe(true);
    expect(lines).toContain(`the campaign's field list changed; added 1 column: ${added}`);
  });
});

describe("the columns line", () => {
  const field = (name: string) => ({ name, type: "field", fieldType: "text", deleted: false });

  test("a column named apart from its field is shown with it; a long list is cut; line breaks never split it", () => {
    expect(fieldsLine({ changed: true, newFields: [], added: [{ table: "contacts", field: "PLZ", column: "PLZ_1a2b3c4d" }] })).toBe(
      "the campaign's field list changed; added 1 column: PLZ (column PLZ_1a2b3c4d)",
    );
    const many = Array.from({ length: 25 }, (_, i) => ({ table: "contacts", field: `f${i}`, column: `f${i}` }));
    expect(fieldsLine({ changed: true, newFields: [], added: many })).toEndWith("f18, f19 and 5 more");
    expect(fieldsLine({ changed: false, newFields: [], added: many.slice(0, 1) })).toBe("added 1 column the existing tables lacked: f0");
    expect(fieldsLine({ changed: true, newFields: ["a\nb"], added: [] })).toBe("the campaign's field list changed; new fields: a?b");
    expect(fieldsLine({ changed: false, newFields: ["a"], added: [] })).toBeUndefined();
  });

  test("PostgreSQL: a field name too long for a column is reported with the column that holds it", async () => {
    const database = await freshDatabase("postgres");
    const target = new SqlTarget(await openDialect(database.url), "");
    try {
      await target.prepare([field("short")]);
      const long = `a_field_name_${"x".repeat(70)}`;
      const added = await target.prepare([field("short"), field(long)]);
      expect(added).toHaveLength(1);
      expect(added[0]?.field).toBe(long);
      expect(added[0]?.column).not.toBe(long);
      expect(Buffer.byteLength(added[0]?.column ?? "")).toBeLessThanOrEqual(63);
    } finally {
      await target.close();
      await database.drop();
    }
  });
});
