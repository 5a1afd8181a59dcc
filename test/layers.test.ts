// The core's folders are layers: each imports only the folders before it in LAYERS, so the data
// flows one way (API client → pipeline → sink → state) and no folder needs another that needs it.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const CORE = resolve(import.meta.dir, "../src/core");
const LAYERS = ["common", "sync", "dialfire", "sql", "webhook", "talkdesk", "phonecalls", "state"];
/** Every module a file names, type-only imports included (a transpiler would drop those). */
const SPECIFIERS = /(?:\bfrom|^\s*import|\bimport\s*\()\s*["']([^"']+)["']/gm;

function layerOf(path: string): string {
  return relative(CORE, path).split("/")[0] ?? "";
}

test("every folder of src/core is a layer, and imports only the layers before it", () => {
  const files = readdirSync(CORE, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(0);
  const upward: string[] = [];
  for (const file of files) {
    const path = join(CORE, file);
    const own = LAYERS.indexOf(layerOf(path));
    expect(own, `${file} is in no known layer: add its folder to LAYERS`).toBeGreaterThanOrEqual(0);
    for (const [, specifier = ""] of readFileSync(path, "utf8").matchAll(SPECIFIERS)) {
      if (!specifier.startsWith(".")) continue;
      const target = resolve(dirname(path), specifier);
      expect(target.startsWith(`${CORE}/`), `${file} imports ${specifier}, outside the core`).toBe(true);
      if (LAYERS.indexOf(layerOf(target)) > own) upward.push(`${file} → ${relative(CORE, target)}`);
    }
  }
  expect(upward).toEqual([]);
});
