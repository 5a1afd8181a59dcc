#!/usr/bin/env bun
// `bun run compile [-- --target linux-x64 …] [--outdir DIR]`: single-file binaries of dbsync
// (Bun's runtime + the bundled app + the libSQL native addon of the target) in dist/, named
// dbsync-<os>-<arch>[.exe], and dist/SHA256SUMS over every dbsync-* binary there.
//
// libSQL loads its addon with a dynamic require(`@libsql/${target}`), which the bundler cannot follow:
// the plugin below replaces that lookup with a static require of the build target's addon, so the
// binary carries it (Bun writes it to TMPDIR and loads it from there at start). Addons of other
// platforms are not installed by npm; they are fetched with `npm pack` at the version libsql pins,
// checked against package-lock.json, and kept in node_modules/.cache/dbsync-compile.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import type { BunPlugin } from "bun";
import { machoAdhocSign, machoSignatureProblem } from "./compile/macho-sign.ts";

const ROOT = resolve(import.meta.dir, "..");
const CACHE = join(ROOT, "node_modules", ".cache", "dbsync-compile");

interface Target {
  /** Bun's compile target. */
  bun: Bun.Build.CompileTarget;
  /** The libSQL addon package, @libsql/<addon>. */
  addon: string;
  exe: string;
  /** Whether this machine can run it, to check the binary right after the build. */
  runsHere: () => boolean;
}

const onHost = (platform: NodeJS.Platform, arch: string) => () => process.platform === platform && process.arch === arch;
const glibc = () => existsSync("/lib64/ld-linux-x86-64.so.2") || existsSync("/lib/x86_64-linux-gnu/libc.so.6");

const TARGETS: Record<string, Target> = {
  "linux-x64": { bun: "bun-linux-x64-baseline", addon: "linux-x64-gnu", exe: "", runsHere: () => onHost("linux", "x64")() && glibc() },
  "linux-arm64": { bun: "bun-linux-arm64", addon: "linux-arm64-gnu", exe: "", runsHere: onHost("linux", "arm64") },
  "linux-x64-musl": {
    bun: "bun-linux-x64-baseline-musl",
    addon: "linux-x64-musl",
    exe: "",
    runsHere: () => onHost("linux", "x64")() && existsSync("/lib/ld-musl-x86_64.so.1"),
  },
  "darwin-x64": { bun: "bun-darwin-x64", addon: "darwin-x64", exe: "", runsHere: onHost("darwin", "x64") },
  "darwin-arm64": { bun: "bun-darwin-arm64", addon: "darwin-arm64", exe: "", runsHere: onHost("darwin", "arm64") },
  "windows-x64": { bun: "bun-windows-x64-baseline", addon: "win32-x64-msvc", exe: ".exe", runsHere: onHost("win32", "x64") },
};

const USAGE = `Usage: bun run compile [-- --target NAME …] [--outdir DIR]

Builds dbsync-<NAME>[.exe] and SHA256SUMS in DIR (default dist/).
  --target NAME   one of ${Object.keys(TARGETS).join(", ")}; repeatable or comma
                  separated (default: all)
  --outdir DIR    where the binaries go (default dist)`;

class CompileError extends Error {}

function fail(message: string): never {
  throw new CompileError(message);
}

function parseArgs(argv: string[]): { targets: string[]; outdir: string } {
  const targets: string[] = [];
  let outdir = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] =
      arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value\n${USAGE}`);
    if (flag === "--") continue;
    else if (flag === "--help" || flag === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (flag === "--target" || flag === "--targets") targets.push(...value().split(",").filter(Boolean));
    else if (flag === "--outdir") outdir = resolve(value());
    else fail(`unknown argument ${arg}\n${USAGE}`);
  }
  for (const name of targets) if (!(name in TARGETS)) fail(`unknown target "${name}": use ${Object.keys(TARGETS).join(", ")}`);
  return { targets: targets.length > 0 ? [...new Set(targets)] : Object.keys(TARGETS), outdir };
}

/**
 * `0.1.0 (5b77168)`: package.json's version and the commit built, `5b77168-dirty` when the checkout
 * has changes not committed (the binary is then not that commit), only the version without git.
 */
function buildVersion(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  try {
    const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    const commit = git.success ? git.stdout.toString().trim() : "";
    const status = Bun.spawnSync(["git", "status", "--porcelain"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    const dirty = status.success && status.stdout.toString().trim() !== "" ? "-dirty" : "";
    return commit ? `${version} (${commit}${dirty})` : version;
  } catch {
    return version; // no git on this machine
  }
}

const libsqlDir = dirname(Bun.resolveSync("libsql/package.json", dirname(Bun.resolveSync("@libsql/client", ROOT))));

/** The addon version libsql pins for this platform package. */
function addonVersion(addon: string): string {
  const manifest = JSON.parse(readFileSync(join(libsqlDir, "package.json"), "utf8")) as { optionalDependencies?: Record<string, string> };
  return manifest.optionalDependencies?.[`@libsql/${addon}`] ?? fail(`libsql ${libsqlDir} names no @libsql/${addon}`);
}

/** The lockfile's integrity of the addon, when package-lock.json records it. */
function lockedIntegrity(addon: string, version: string): string | undefined {
  try {
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages?: Record<string, { version?: string; integrity?: string }>;
    };
    const entry = lock.packages?.[`node_modules/@libsql/${addon}`];
    return entry?.version === version ? entry.integrity : undefined;
  } catch {
    return undefined;
  }
}

/** The path of the target's index.node: installed, cached, or fetched now. */
function addonFile(addon: string): string {
  const version = addonVersion(addon);
  const installed = join(libsqlDir, "..", "@libsql", addon);
  for (const dir of [installed, join(ROOT, "node_modules", "@libsql", addon)]) {
    const manifest = join(dir, "package.json");
    if (existsSync(join(dir, "index.node")) && JSON.parse(readFileSync(manifest, "utf8")).version === version)
      return join(dir, "index.node");
  }
  const cached = join(CACHE, `${addon}-${version}`);
  if (existsSync(join(cached, "index.node"))) return join(cached, "index.node");

  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.fetch-${addon}-`));
  try {
    const spec = `@libsql/${addon}@${version}`;
    process.stdout.write(`fetching ${spec} (npm pack)\n`);
    let pack: ReturnType<typeof Bun.spawnSync>;
    try {
      pack = Bun.spawnSync(["npm", "pack", spec, "--pack-destination", work, "--json", "--silent"], {
        cwd: work,
        stdout: "pipe",
        stderr: "pipe",
      });
    } catch (error) {
      fail(`fetching ${spec} needs npm (${error instanceof Error ? error.message : error})`);
    }
    if (!pack.success) fail(`npm pack ${spec} failed: ${pack.stderr?.toString().trim()}`);
    const [{ filename }] = JSON.parse(pack.stdout?.toString() ?? "") as { filename: string }[];
    const tarball = readFileSync(join(work, filename));
    const expected = lockedIntegrity(addon, version);
    const actual = `sha512-${createHash("sha512").update(tarball).digest("base64")}`;
    if (expected !== undefined && expected !== actual) fail(`${spec}: integrity ${actual} differs from package-lock.json's ${expected}`);
    const tar = Bun.spawnSync(["tar", "-xzf", filename], { cwd: work, stderr: "pipe" });
    if (!tar.success) fail(`unpacking ${filename} failed: ${tar.stderr.toString().trim()}`);
    if (!existsSync(join(work, "package", "index.node"))) fail(`${spec} holds no index.node`);
    rmSync(cached, { recursive: true, force: true });
    renameSync(join(work, "package"), cached);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(cached, "index.node");
}

/**
 * The addon is unpacked into TMPDIR and loaded from there: when that folder cannot be written or is
 * mounted noexec, the binary says so and what to do, instead of a stack trace (every command needs
 * libSQL: the state store is one).
 */
function staticRequireNative(file: string): string {
  return `function requireNative() {
  try {
    return require(${JSON.stringify(file)});
  } catch (error) {
    process.stderr.write("error: cannot load libSQL's native library, which dbsync unpacks into " + require("node:os").tmpdir() +
      " (TMPDIR): " + (error && error.message) + "\\nSet TMPDIR to a folder this user may write to and run programs from (not mounted noexec).\\n");
    process.exit(1);
  }
}
`;
}

/** libsql/index.js with its platform lookup replaced by a static require of one addon. */
function libsqlAddonPlugin(file: string, loaded: { done: boolean }): BunPlugin {
  return {
    name: "dbsync-libsql-addon",
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/]index\.js$/ }, async ({ path }) => {
        const source = await Bun.file(path).text();
        const body = /function requireNative\(\) \{\n[\s\S]*?\n\}\n/;
        if (!body.test(source)) throw new Error(`${path}: no requireNative() to replace (libsql changed?)`);
        loaded.done = true;
        return { contents: source.replace(body, staticRequireNative(file)), loader: "js" };
      });
    },
  };
}

/** A darwin binary leaves the build with a valid signature, or the build fails. */
async function ensureMachoSignature(path: string): Promise<string> {
  const file = Buffer.from(await Bun.file(path).arrayBuffer());
  if (machoSignatureProblem(file) === undefined) return "";
  const signed = machoAdhocSign(file, "dbsync");
  const problem = machoSignatureProblem(signed);
  if (problem !== undefined) fail(`${path}: the ad-hoc signature is not valid: ${problem}`);
  await Bun.write(path, signed);
  return ", re-signed (ad hoc)";
}

async function compile(name: string, target: Target, outdir: string, version: string): Promise<string> {
  const outfile = join(outdir, `dbsync-${name}${target.exe}`);
  const loaded = { done: false };
  const result = await Bun.build({
    entrypoints: [join(ROOT, "src", "cli.ts")],
    compile: {
      target: target.bun,
      outfile,
      // Configuration comes from flags and the environment only, not from files in the working folder.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    // Bytecode needs ESM here (CommonJS + bytecode crashes at run time); together ~3× faster starts.
    bytecode: true,
    format: "esm",
    minify: true,
    define: { DBSYNC_BUILD_VERSION: JSON.stringify(version) },
    plugins: [libsqlAddonPlugin(addonFile(target.addon), loaded)],
    throw: false,
  });
  if (!result.success) fail(`${name}: ${result.logs.map(String).join("\n")}`);
  if (!loaded.done) fail(`${name}: the libSQL addon was not embedded (node_modules/libsql/index.js never loaded)`);
  return outfile;
}

/** Runs a fresh binary from an empty folder: it must start and name its version. */
function check(file: string, version: string): void {
  const empty = mkdtempSync(join(tmpdir(), "dbsync-compile-check-"));
  try {
    const run = Bun.spawnSync([file, "--version"], {
      cwd: empty,
      env: { PATH: "/usr/bin:/bin", TMPDIR: empty },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = run.stdout.toString().trim();
    if (!run.success || out !== version)
      fail(`${file} --version from an empty folder: exit ${run.exitCode}, "${out}" ${run.stderr.toString().trim()}`);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(file).stream()) hash.update(chunk);
  return hash.digest("hex");
}

/** SHA256SUMS over every dbsync binary in the folder (also those of an earlier run), for `sha256sum -c`. */
async function writeSums(outdir: string): Promise<void> {
  const known = new Set(Object.entries(TARGETS).map(([name, target]) => `dbsync-${name}${target.exe}`));
  const names = readdirSync(outdir)
    .filter((n) => known.has(n))
    .sort();
  const lines = await Promise.all(names.map(async (n) => `${await sha256(join(outdir, n))}  ${n}\n`));
  await Bun.write(join(outdir, "SHA256SUMS"), lines.join(""));
}

async function main(argv: string[]): Promise<void> {
  const { targets, outdir } = parseArgs(argv);
  const version = buildVersion();
  mkdirSync(outdir, { recursive: true });
  for (const name of targets) {
    const target = TARGETS[name] as Target;
    const started = performance.now();
    const file = await compile(name, target, outdir, version);
    const signed = target.bun.startsWith("bun-darwin") ? await ensureMachoSignature(file) : "";
    let runs = "";
    if (target.runsHere()) {
      check(file, version);
      runs = ", runs";
    }
    const checked = `${signed}${runs}`;
    const size = (Bun.file(file).size / 2 ** 20).toFixed(1);
    process.stdout.write(
      `${relative(process.cwd(), file) || file}  ${size} MiB  ${Math.round(performance.now() - started)} ms${checked}\n`,
    );
  }
  await writeSums(outdir);
  process.stdout.write(`dbsync ${version}: ${relative(process.cwd(), join(outdir, "SHA256SUMS"))}\n`);
}

if (import.meta.main) {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    process.stderr.write(`compile: ${error.message}\n`);
    process.exitCode = 1;
  }
}
