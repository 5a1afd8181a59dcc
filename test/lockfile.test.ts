// A fresh clone's `npm install` must leave package-lock.json as committed: a lockfile npm rewrites
// (optional platform packages missing, say) makes every build of a fresh clone call itself -dirty.
import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

test("npm install leaves package-lock.json unchanged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dbsync-lockfile-"));
  for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(dir, file));
  // Only the lockfile is resolved again: no download, no install script.
  const child = Bun.spawn(["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: dir,
    env: { ...process.env, npm_config_update_notifier: "false" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  const committed = readFileSync(join(ROOT, "package-lock.json"), "utf8");
  expect(readFileSync(join(dir, "package-lock.json"), "utf8") === committed).toBe(true);
});
