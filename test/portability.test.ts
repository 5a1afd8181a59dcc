// The app and the core must run on every runtime (Bun, Deno, Workers): no module they load may
// import a Node or Bun built-in or use a runtime's globals. Checked over every file the edge entry
// points, the app factory and src/core reach through their imports.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const ENTRIES = [
  "src/edge/workers.ts",
  "src/edge/deno.ts",
  "src/server.ts",
  ...readdirSync(join(ROOT, "src/core"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => `src/core/${file}`),
];
/** Runtime globals; `Deno` is allowed in the Deno entry point only. */
const GLOBALS = /\b(Bun|process|Deno)\.[A-Za-z]|\bBuffer\b|\brequire\(|\b__dirname\b|\b__filename\b/g;
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
/**
 * Packages with a build for every runtime (web-standard APIs; @libsql/client picks its web build on
 * Workers; @valibot/to-json-schema, which makes the OpenAPI document, is plain JavaScript over valibot).
 */
const PORTABLE_PACKAGES = ["hono", "valibot", "@libsql/client", "drizzle-orm", "@noble/hashes", "@valibot/to-json-schema"];
const packageOf = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

const transpiler = new Bun.Transpiler({ loader: "ts" });

interface Violation {
  file: string;
  what: string;
}

/** Every violation in `file` and the files it imports (relative imports followed, packages checked by name). */
function portabilityViolations(entries: readonly string[]): { files: string[]; violations: Violation[] } {
  const seen = new Set<string>();
  const violations: Violation[] = [];
  const queue = entries.map((entry) => resolve(ROOT, entry));
  while (queue.length > 0) {
    const path = queue.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    const file = relative(ROOT, path);
    const source = readFileSync(path, "utf8");
    // Type-only imports vanish in the transpiled code: they load nothing at run time.
    const code = transpiler.transformSync(source);
    for (const { path: specifier } of transpiler.scanImports(source)) {
      if (specifier.startsWith(".")) {
        if (specifier.endsWith(".ts")) queue.push(resolve(dirname(path), specifier));
        else violations.push({ file, what: `imports "${specifier}", which is no module of ours` });
      } else if (NODE_BUILTINS.has(specifier) || specifier.startsWith("node:")) {
        violations.push({ file, what: `imports the Node built-in "${specifier}"` });
      } else if (specifier === "bun" || specifier.startsWith("bun:")) {
        violations.push({ file, what: `imports the Bun built-in "${specifier}"` });
      } else if (!PORTABLE_PACKAGES.includes(packageOf(specifier))) {
        violations.push({ file, what: `imports "${specifier}", a package not known to run on every runtime` });
      }
    }
    const withoutComments = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
    for (const match of withoutComments.matchAll(GLOBALS)) {
      if (match[0].startsWith("Deno.") && file === "src/edge/deno.ts") continue;
      violations.push({ file, what: `uses ${match[0]}` });
    }
  }
  return { files: [...seen].map((path) => relative(ROOT, path)).sort(), violations };
}

describe("portability of the app and the core", () => {
  test("no Node or Bun built-in, no runtime global, in anything the app, the core or the edge entry points load", () => {
    const { files, violations } = portabilityViolations(ENTRIES);
    // the walk really reached the app, the dialects the edge uses and the routes
    for (const file of [
      "src/server.ts",
      "src/server/phonecalls.ts",
      "src/dialects/sqlite/d1.ts",
      "src/dialects/sqlite/libsql.ts",
      "src/core/phonecalls/phone-index.ts",
    ]) {
      expect(files).toContain(file);
    }
    expect(violations).toEqual([]);
  });

  test("the check finds what it looks for (the command line's modules are Node/Bun-bound)", () => {
    const { violations } = portabilityViolations([
      "src/dialects/sqlite/libsql-node.ts",
      "src/cli/serve-command.ts",
      "src/dialects/postgres/index.ts",
    ]);
    const found = violations.map((v) => `${v.file}: ${v.what}`);
    expect(found).toContain('src/dialects/postgres/index.ts: imports "postgres", a package not known to run on every runtime');
    expect(found).toContain('src/dialects/sqlite/libsql-node.ts: imports the Node built-in "node:fs/promises"');
    expect(found.some((line) => line.startsWith("src/cli/serve-command.ts: uses Bun.s"))).toBe(true);
    expect(found.some((line) => line.startsWith("src/cli/serve-command.ts: uses process."))).toBe(true);
  });
});
