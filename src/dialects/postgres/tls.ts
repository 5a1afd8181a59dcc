// TLS as libpq's URLs ask for it. Reads the certificate files a URL names.
import { readFileSync } from "node:fs";
import type { Options } from "postgres";
import { TargetError } from "../../core/sql/dialect.ts";
import { fileReason, type ParsedServerUrl } from "../../core/sql/server-url.ts";

/**
 * libpq's `sslmode` (lib/pq's default was `require`; `prefer` accepts both kinds of server), with
 * `sslrootcert`, `sslcert` and `sslkey` naming PEM files; `ssl=true|false` as a short form.
 */
export function sslOption(query: URLSearchParams, url: ParsedServerUrl): Options<Record<string, never>>["ssl"] {
  const read = (name: string) => {
    const path = query.get(name);
    if (!path || path === "system") return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new TargetError(`${url.safeUrl}: cannot read ${name} ${path}: ${fileReason(error)}`);
    }
  };
  const ssl = query.get("ssl")?.toLowerCase();
  let mode =
    query.get("sslmode")?.toLowerCase() ??
    (ssl === "true" || ssl === "1" ? "require" : ssl === "false" || ssl === "0" ? "disable" : "prefer");
  if (query.get("sslrootcert") && (mode === "require" || mode === "prefer")) mode = "verify-ca";
  const files = { ca: read("sslrootcert"), cert: read("sslcert"), key: read("sslkey") };
  switch (mode) {
    case "disable":
      return false;
    case "allow":
    case "prefer":
      return "prefer";
    case "require":
      return files.cert ? { rejectUnauthorized: false, ...files } : "require";
    case "verify-ca":
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined, ...files };
    case "verify-full":
      return { rejectUnauthorized: true, ...files };
    default:
      throw new TargetError(`${url.safeUrl}: unknown sslmode "${mode}"; use disable, allow, prefer, require, verify-ca or verify-full`);
  }
}
