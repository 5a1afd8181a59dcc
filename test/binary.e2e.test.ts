// The single binaries of scripts/compile.ts, built fresh and run from an empty folder (no
// node_modules, no project files, a minimal environment): usage, version, the simulator, a db_init into
// a libSQL file (the native addon must be inside the binary), the server drivers, and `serve` answering
// Talkdesk and a phonecall. linux-x64 natively; linux-arm64 the same way under qemu-user, which is
// installed from Debian's packages when missing (~5 s).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { openDialect } from "../src/dialects/index.ts";
import { machoLayout, machoSignatureProblem } from "../scripts/compile/macho-sign.ts";
import { until } from "./helpers/compare.ts";
import { parsePrometheusText, total } from "./helpers/prometheus-text.ts";
import { collectOutput, serveUrl, tempDir, flatFlags } from "./helpers/run.ts";

setDefaultTimeout(120_000);

const ROOT = resolve(import.meta.dir, "..");
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const OUT = tempDir("binaries");

/** qemu-user and Debian's arm64 loader and libraries, for the dynamically linked arm64 binary. */
const QEMU = "/usr/bin/qemu-aarch64";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
const QEMU_PACKAGES = ["qemu-user", "libc6-arm64-cross", "libgcc-s1-arm64-cross"];

const native = process.platform === "linux" && process.arch === "x64";
const hasQemu = () => existsSync(QEMU) && existsSync(join(ARM64_SYSROOT, "lib", "ld-linux-aarch64.so.1"));

/** Why the arm64 binary cannot run here, or undefined once qemu-user is there (installed if missing). */
function arm64Unavailable(): string | undefined {
  if (!native) return `not a linux-x64 machine (${process.platform}-${process.arch})`;
  if (hasQemu()) return undefined;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync("/usr/bin/apt-get"))
    return `qemu-user is missing and cannot be installed here (needs root and apt-get): apt-get install ${QEMU_PACKAGES.join(" ")}`;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    Bun.spawnSync(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...QEMU_PACKAGES], {
      env,
      stdout: "ignore",
      stderr: "pipe",
    });
  let result = install();
  if (!result.success) {
    Bun.spawnSync(["apt-get", "update", "-qq"], { env, stdout: "ignore", stderr: "ignore" });
    result = install();
  }
  // As root with apt this must work: a failure here fails the arm64 tests instead of skipping them.
  if (!result.success || !hasQemu()) throw new Error(`installing ${QEMU_PACKAGES.join(" ")} failed: ${result.stderr.toString()}`);
  return undefined;
}

const started = performance.now();
const arm64Skip = native ? arm64Unavailable() : "not a linux-x64 machine";
const qemuMs = performance.now() - started;
if (!native) console.warn(`binary.e2e: skipped, the test runs the linux-x64 binary and this is ${process.platform}-${process.arch}`);
if (arm64Skip) console.warn(`binary.e2e: linux-arm64 skipped: ${arm64Skip}`);
else if (qemuMs > 1000) console.warn(`binary.e2e: installed qemu-user in ${(qemuMs / 1000).toFixed(1)} s`);

/** darwin-x64 for its signature: Bun leaves the runtime's, the build signs it anew (it cannot run here). */
const TARGETS = native ? ["linux-x64", ...(arm64Skip ? [] : ["linux-arm64"]), "darwin-x64"] : [];
let buildLog = "";

beforeAll(() => {
  if (TARGETS.length === 0) return;
  const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "compile.ts"), "--target", TARGETS.join(","), "--outdir", OUT], {
    cwd: ROOT,
    env: { ...process.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  buildLog = `${build.stdout.toString()}${build.stderr.toString()}`;
  if (!build.success) throw new Error(`bun run compile failed:\n${buildLog}`);
}, 300_000);
afterAll(() => rmSync(OUT, { recursive: true, force: true })); // ~400 MB of binaries

/** The version the build announced (`dbsync 0.1.0 (2971261): …/SHA256SUMS`), which `--version` must print. */
function builtVersion(): string {
  const version = /^dbsync (.+): .*SHA256SUMS$/m.exec(buildLog)?.[1] ?? "";
  // package.json's version and, in a git checkout, the commit built
  const commit = Bun.which("git") !== null && existsSync(join(ROOT, ".git")) ? " \\([0-9a-f]{7,}(-dirty)?\\)" : "";
  expect(version).toMatch(new RegExp(`^${PACKAGE_VERSION.replaceAll(".", "\\.")}${commit}$`));
  return version;
}

test.skipIf(!native)("the build names every binary in SHA256SUMS, which sha256sum -c accepts", () => {
  const sums = readFileSync(join(OUT, "SHA256SUMS"), "utf8");
  expect(
    sums
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/)[1]),
  ).toEqual(TARGETS.map((t) => `dbsync-${t}`).sort());
  const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: OUT, stdout: "pipe", stderr: "pipe" });
  expect(check.stdout.toString()).toBe(
    TARGETS.map((t) => `dbsync-${t}: OK\n`)
      .sort()
      .join(""),
  );
  expect(check.exitCode).toBe(0);
});

test.skipIf(!native)("the darwin-x64 binary carries a valid ad-hoc signature of its own", () => {
  const file = readFileSync(join(OUT, "dbsync-darwin-x64"));
  expect(machoSignatureProblem(file)).toBeUndefined();
  const { dataoff } = machoLayout(file);
  const codeDirectory = dataoff + 20;
  expect(file.toString("latin1", codeDirectory + 88, codeDirectory + 95)).toBe("dbsync\0"); // ours, not Bun's
  // One changed byte of code breaks it: the check is real.
  file[4096 * 100] = (file[4096 * 100] as number) ^ 1;
  expect(machoSignatureProblem(file)).toMatch(/^1 of \d+ page hashes do not match$/);
});

const CAMPAIGN = "BINARYCAMPAIGN01";
const API_TOKEN = "binary-sync-token-0123456789";
const CALLS_TOKEN = "binary-calls-token-0123456789";
const AUTH = { username: "talkdesk@example.com", password: "bin-s3cret" };
const CONTACTS = 60;

interface Variant {
  name: string;
  skip: string | undefined;
  /** The command that runs the binary at this path. */
  command: (binary: string) => string[];
}

const VARIANTS: Variant[] = [
  { name: "linux-x64", skip: native ? undefined : "not a linux-x64 machine", command: (binary) => [binary] },
  { name: "linux-arm64", skip: arm64Skip, command: (binary) => [QEMU, "-L", ARM64_SYSROOT, binary] },
];

for (const variant of VARIANTS) {
  describe.skipIf(variant.skip !== undefined)(`dbsync-${variant.name} from an empty folder`, () => {
    const dir = tempDir(`binary-${variant.name}`);
    const binary = join(dir, "dbsync");
    const env = {
      PATH: "/usr/bin:/bin",
      HOME: dir,
      TMPDIR: join(dir, "tmp"), // the binary unpacks libSQL's addon here
      DBSYNC_DATA_DIR: join(dir, "data"),
      DBSYNC_LOG_DIR: join(dir, "logs"),
    };
    const target = `file:${join(dir, "campaign.db")}`;
    const state = `file:${join(dir, "state.db")}`;
    const children: Subprocess<"ignore", "pipe", "pipe">[] = [];

    beforeAll(() => {
      copyFileSync(join(OUT, `dbsync-${variant.name}`), binary);
      mkdirSync(env.TMPDIR);
    });
    afterAll(async () => {
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(children.map((child) => child.exited));
      rmSync(dir, { recursive: true, force: true });
    });

    async function run(argv: string[], extraEnv: Record<string, string> = {}) {
      const child = Bun.spawn([...variant.command(binary), ...argv], {
        cwd: dir,
        env: { ...env, ...extraEnv },
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      clearTimeout(timer);
      return { code, stdout, stderr };
    }

    /** A long-running command (simulate, serve) and the URL it prints once it listens. */
    async function start(argv: string[], extraEnv: Record<string, string> = {}): Promise<string> {
      const child = Bun.spawn([...variant.command(binary), ...argv], {
        cwd: dir,
        env: { ...env, ...extraEnv },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      children.push(child);
      return serveUrl(child, () => new Response(child.stderr).text());
    }

    test("--help and --version", async () => {
      const help = await run(["--help"]);
      expect(help.stderr).toBe("");
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("db_sync");
      expect(help.stdout).toContain("serve");
      const version = await run(["--version"]);
      expect(version.stdout.trim()).toBe(builtVersion());
      expect(version.code).toBe(0);
    });

    let api = "";
    test("simulate, then db_init into a libSQL file", async () => {
      api = await start([
        "simulate",
        "--port",
        "0",
        "--campaign",
        CAMPAIGN,
        "--token",
        API_TOKEN,
        "--contacts",
        String(CONTACTS),
        "--seed",
        "7",
        "--activity",
        "0",
      ]);
      expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const init = await run(["--a", "db_init", "--c", CAMPAIGN, "--ct", API_TOKEN, "--api-url", api, "--url", target, "--state", state]);
      const output = `${init.stdout}${init.stderr}`;
      expect(output).toContain(`${CONTACTS} contacts listed, ${CONTACTS} fetched`);
      expect(output).not.toMatch(/error|warn/i);
      expect(init.code).toBe(0);
      const db = await openDialect(target);
      try {
        expect(await db.all(`SELECT count(*) AS n FROM "contacts"`)).toEqual([{ n: CONTACTS }]);
        const [transactions] = await db.all<{ n: number }>(`SELECT count(*) AS n FROM "transactions"`);
        expect(transactions?.n).toBeGreaterThan(0);
      } finally {
        await db.close();
      }
    });

    // The bundled JavaScript is the same for every target (only libSQL's addon differs): natively only.
    if (variant.name === "linux-x64")
      test("the server database drivers are inside: each one reaches its connect", async () => {
        for (const url of ["postgres://u:p@127.0.0.1:1/db", "mysql://u:p@127.0.0.1:1/db", "sqlserver://u:p@127.0.0.1:1/db"]) {
          const result = await run([...flatFlags("db_init", CAMPAIGN, API_TOKEN, api, url, state)]);
          expect(result.code).toBe(1);
          expect(result.stderr).not.toContain("Cannot find module");
          expect(result.stderr).toContain(`at ${url.replace(":p@", "@")}: connection refused (nothing listens on that host and port)`);
        }
      });

    // prom-client, bundled like the rest: natively only, as the drivers.
    if (variant.name === "linux-x64")
      test("run: /metrics in the Prometheus format, with the rows the campaign writes and the process's figures", async () => {
        const config = join(dir, "run.yaml");
        writeFileSync(
          config,
          `state: file:run-state.db\nhttp: 127.0.0.1:0\ncampaigns:\n  - campaign: ${CAMPAIGN}\n    token: ${API_TOKEN}\n` +
            `    mode: db_sync\n    url: file:run.db\n    api_url: ${api}\n    interval: 1\n`,
        );
        const child = Bun.spawn([...variant.command(binary), "run", "--config", config], {
          cwd: dir,
          env,
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        });
        children.push(child);
        void new Response(child.stdout).text();
        const console = collectOutput(child.stderr);
        await console.waitFor(/\/metrics on http:\/\/\S+/);
        const base = /\/metrics on (http:\/\/\S+)/.exec(console.text())?.[1] as string;
        const written = async () => {
          const families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
          return (
            total(families, "dbsync_rows_written_total", { campaign: CAMPAIGN, table: "contacts" }) === CONTACTS &&
            families.has("process_resident_memory_bytes")
          );
        };
        expect(await until(written, 30_000)).toBe(true);
      });

    test("serve: Talkdesk gets every contact, a phonecall is created for one of them", async () => {
      const base = await start(["serve", "--url", target, "--state", state, "--port", "0", "--settle", "0"], {
        DBSYNC_TALKDESK_USERNAME: AUTH.username,
        DBSYNC_TALKDESK_PASSWORD: AUTH.password,
        DBSYNC_PHONECALLS_TOKENS: CALLS_TOKEN,
      });
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: response.status, json: (await response.json()) as Record<string, unknown> };
      };

      // The sync stamps $changed with the second it writes; Talkdesk gets contacts of seconds gone by.
      await Bun.sleep(1100);
      const sync = await post("/talkdesk/contact_sync", { auth: AUTH, meta: {} });
      expect(sync.status).toBe(200);
      const contacts = sync.json.contacts as { id: string; name: string; phones?: string[] }[];
      expect(contacts).toHaveLength(CONTACTS);
      expect(new Set(contacts.map((c) => c.id)).size).toBe(CONTACTS);
      expect(typeof sync.json.synchronization_checkpoint).toBe("string");
      expect((await post("/talkdesk/contact_sync", { auth: { ...AUTH, password: "wrong" }, meta: {} })).status).toBe(401);

      // A contact whose number no other contact has.
      const phones = contacts.flatMap((c) => c.phones ?? []);
      const contact = contacts.find((c) => c.phones?.length === 1 && phones.filter((p) => p === c.phones?.[0]).length === 1);
      if (!contact) throw new Error("no contact with a phone number of its own");
      const call = {
        token: CALLS_TOKEN,
        initiated: "2026-11-22T10:00:00Z",
        source: "7222",
        destination: contact.phones?.[0],
        duration: 42,
      };
      const created = await post("/direct/items/phonecalls/create", call);
      expect(created.json).toMatchObject({ error: false, contactId: contact.id, created: true });
      expect(created.status).toBe(200);
      const again = await post("/direct/items/phonecalls/create", call);
      expect(again.json).toEqual({ ...created.json, created: false });
      expect((await post("/direct/items/phonecalls/create", { ...call, token: "not-a-token" })).status).toBe(401);

      const db = await openDialect(target);
      try {
        const rows = await db.all(`SELECT "id", "contact_id", "destination", "duration" FROM "phonecalls"`);
        expect(rows).toEqual([
          { id: String(created.json.phonecallId), contact_id: contact.id, destination: call.destination, duration: 42 },
        ]);
      } finally {
        await db.close();
      }
    });
  });
}
