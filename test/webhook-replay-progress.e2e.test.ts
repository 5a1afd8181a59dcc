// A long replay says how far it is while it runs, not only when it ends.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { openStateStore } from "../src/state/open.ts";
import { type Receiver, startReceiver } from "./helpers/receiver.ts";
import { runCli, tempDir } from "./helpers/run.ts";

setDefaultTimeout(60_000);

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.stop();
});

test("a replay lasting longer than 10 s prints a progress line while it runs", async () => {
  receiver = startReceiver({ seed: 7 });
  const state = `file:${tempDir("webhook-replay-progress")}/state.db`;
  const store = await openStateStore(state);
  const scope = { campaign: "REPLAYPROGRESS01" };
  const options = { url: receiver.url, floor: undefined, signed: false };
  const letters = 15;
  for (let i = 0; i < letters; i++) {
    const contactId = `C${i}`;
    const fired = "2026-11-01T10:00:00.000Z";
    const body = (state: string) => JSON.stringify({ contact: { $id: contactId }, state, transaction: { fired } });
    await store.outbox.enqueue(scope, [{ contactId, transactionId: `t${i}`, fired, hash: "h", history: false, body }], [], options);
    const [entry] = await store.outbox.due({ scope }, Date.now(), 10);
    await store.outbox.deadLetter(entry?.id ?? "", 10, "HTTP 503", new Date());
  }
  await store.close();

  // One request a second: fifteen deliveries take some fourteen seconds.
  const replayed = await runCli(["webhook", "replay", "--state", state, "--wr", "1", "--wb", "1"], { timeoutMs: 40_000 });
  expect(replayed.code).toBe(0);
  const lines = replayed.stdout.trim().split("\n");
  expect(lines[0]).toBe(`replaying ${letters} deliveries`);
  expect(lines.at(-1)).toBe(`${letters} delivered, 0 failed again`);
  const progress = lines.slice(1, -1);
  expect(progress.length).toBeGreaterThanOrEqual(1);
  for (const line of progress)
    expect(line).toMatch(new RegExp(`^replay: \\d+ of ${letters} settled \\(\\d+ delivered, 0 failed again\\)$`));
  expect(receiver.accepted()).toHaveLength(letters);
});
