// Events that come by the dozen reach the console as the first one and then counts; the log file
// keeps one line for each.
import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { apiRetryReport, breakerReports } from "../src/campaign/log-digests.ts";
import { LogDigest, oneLine } from "../src/core/common/log-digest.ts";

/** A logger as the CLI's: lines tagged file-only never reach the console. */
function capture() {
  const console: string[] = [];
  const file: string[] = [];
  const log = createConsola({
    level: 5,
    reporters: [
      {
        log(entry) {
          const line = entry.args.map(String).join(" ");
          file.push(line);
          if (entry.tag !== "file-only") console.push(line);
        },
      },
    ],
  });
  return { log, console, file };
}

describe("LogDigest", () => {
  test("the first at once, the rest recorded and said as one count per period, the remainder when flushed", async () => {
    const said: string[] = [];
    const recorded: string[] = [];
    const digest = new LogDigest({
      say: (line) => void said.push(line),
      record: (line) => void recorded.push(line),
      first: (line) => `first: ${line}`,
      summary: (count, total, last) => `${count} more (${total} in all), the last ${last}`,
      periodMs: 150,
    });
    digest.add("e1");
    expect(said).toEqual(["first: e1"]);
    for (let i = 2; i <= 30; i++) digest.add(`e${i}`);
    expect(said).toHaveLength(1);
    expect(recorded).toHaveLength(29);
    await Bun.sleep(250);
    expect(said).toEqual(["first: e1", "29 more (30 in all), the last e30"]);
    digest.add("e31"); // within the period after the count
    digest.flush();
    expect(said.at(-1)).toBe("1 more (31 in all), the last e31");
    digest.flush();
    expect(said).toHaveLength(3);
    await Bun.sleep(250);
    expect(said).toHaveLength(3);
  });

  test("an error text becomes one line of bounded length", () => {
    expect(oneLine("Unable to connect.\n  For more information, pass `verbose: true`")).toBe(
      "Unable to connect. For more information, pass `verbose: true`",
    );
    expect(oneLine("x".repeat(1000))).toHaveLength(300);
  });
});

describe("the CLI's reports", () => {
  test("a receiver that stays down: one console warning; its failed probes go to the log file only", () => {
    const { log, console, file } = capture();
    const news = breakerReports(log);
    news.onOpen(10, 500);
    for (let i = 0; i < 20; i++) news.onOpen(20, 1000 * (i + 1));
    news.onClose();
    news.flush();
    expect(console).toEqual([
      "the receiver failed 10 of the last requests; holding deliveries back, next probe in 0.5 s",
      "the receiver answers again; delivering",
    ]);
    expect(file.filter((line) => line.startsWith("the probe failed: "))).toHaveLength(20);
  });

  test("a receiver failing on and off: the first opening and closing, then one count of each", () => {
    const { log, console, file } = capture();
    const news = breakerReports(log);
    for (let i = 0; i < 30; i++) {
      news.onOpen(10, 500);
      news.onClose();
    }
    news.flush();
    expect(console).toHaveLength(4);
    expect(console[2]).toStartWith("the receiver failed again 29 times after answering (30 in this run)");
    expect(console[3]).toBe("the receiver answered again 29 more times (30 in this run); delivering");
    expect(file).toHaveLength(4 + 2 * 29);
  });

  test("API retries: the first on the console, then a count; each in the log file", () => {
    const { log, console, file } = capture();
    const retries = apiRetryReport(log);
    for (let i = 1; i <= 50; i++) retries.add(`API /contacts attempt ${i} failed (HTTP 500); retrying in 1.0 s`);
    retries.flush();
    expect(console).toEqual([
      "API /contacts attempt 1 failed (HTTP 500); retrying in 1.0 s",
      "49 more API requests were tried again (50 in this run; each in the log file); the last: API /contacts attempt 50 failed (HTTP 500); retrying in 1.0 s",
    ]);
    expect(file).toHaveLength(51);
  });
});
