// The README's commands work after its own set-up, on a machine with only Node.js and npm: nothing it
// shows may need a Bun installed globally.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** Every line of the README's shell blocks, continuation lines joined. */
function shellLines(): string[] {
  const lines: string[] = [];
  for (const block of README.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    const text = (block[1] ?? "").replace(/\\\n\s*/g, " ");
    for (const line of text.split("\n")) if (line.trim() !== "" && !line.trim().startsWith("#")) lines.push(line.trim());
  }
  return lines;
}

/** A PATH holding node, npm, npx and sh only, so a global Bun cannot be found by accident. */
function nodeOnlyPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "dbsync-node-only-"));
  for (const command of ["node", "npm", "npx", "sh"]) {
    const found = Bun.which(command);
    if (!found) throw new Error(`${command} is not on the PATH of this test`);
    symlinkSync(found, join(dir, command));
  }
  return dir;
}

describe("README", () => {
  test("keeps the two set-up commands", () => {
    expect(README).toContain("npm install && npm run demo");
    expect(README).toContain("npm install && npm test");
  });

  test("shows no command that needs a global bun", () => {
    const needsBun = shellLines().filter((line) => /(^|[;&|]\s*)bunx?\s/.test(line));
    expect(needsBun).toEqual([]);
    expect(shellLines().some((line) => line.startsWith("npx dbsync "))).toBe(true);
  });

  test("npx dbsync runs from the checkout with only Node.js and npm on the PATH", async () => {
    const path = nodeOnlyPath();
    expect(Bun.which("bun", { PATH: path })).toBeNull();
    const home = mkdtempSync(join(tmpdir(), "dbsync-home-"));
    const child = Bun.spawn(["npx", "--no-install", "dbsync", "--help"], {
      cwd: ROOT,
      env: { PATH: path, HOME: home, npm_config_update_notifier: "false" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("db_sync");
  });
});
