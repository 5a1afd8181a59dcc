// The Workers entry point as Cloudflare runs it: bundled for workerd (the conditions wrangler uses),
// run by miniflare's workerd on loopback.
import { join } from "node:path";
import { Miniflare } from "miniflare";
import type { D1Database } from "../../src/dialects/sqlite/d1.ts";
import { tempDir } from "./run.ts";

const ENTRY = join(import.meta.dir, "../../src/edge/workers.ts");

let bundled: Promise<string> | undefined;

/** The bundle's folder; built once per test process. */
export function workerBundle(): Promise<string> {
  bundled ??= (async () => {
    const outdir = tempDir("worker");
    const result = await Bun.build({
      entrypoints: [ENTRY],
      outdir,
      target: "browser",
      format: "esm",
      conditions: ["workerd", "worker", "browser"],
    });
    if (!result.success) throw new Error(`the worker does not bundle: ${result.logs.map(String).join("\n")}`);
    return outdir;
  })();
  return bundled;
}

export interface RunningWorker {
  url: string;
  mf: Miniflare;
}

/** The worker with these vars, and a D1 database bound as DB when `d1` is set. */
/** Vars as wrangler.toml gives them: text, or a number when unquoted there. */
export async function startWorker(bindings: Record<string, string | number>, options: { d1?: boolean } = {}): Promise<RunningWorker> {
  const dir = await workerBundle();
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, "workers.js"),
    modulesRoot: dir,
    host: "127.0.0.1",
    port: 0,
    cf: false,
    compatibilityDate: "2026-04-01",
    d1Databases: options.d1 ? ["DB"] : [],
    d1Persist: false,
    bindings,
  });
  const url = String(await mf.ready).replace(/\/$/, "");
  return { url, mf };
}

/** A D1 database alone (behind a worker that does nothing), for the dialect's own suites. */
export async function startD1(): Promise<{ db: D1Database; dispose: () => Promise<void> }> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    compatibilityDate: "2026-04-01",
    cf: false,
    d1Databases: ["DB"],
    d1Persist: false,
  });
  const db = (await mf.getD1Database("DB")) as unknown as D1Database;
  return { db, dispose: () => mf.dispose() };
}
