// TLS as the usual MySQL URL forms ask for it. Reads the CA file a URL names.
import { readFileSync } from "node:fs";
import type { PoolOptions } from "mysql2/promise";
import { TargetError } from "../../core/sql/dialect.ts";
import { fileReason, type ParsedServerUrl } from "../../core/sql/server-url.ts";

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/**
 * TLS as the usual URL forms ask for it: `useSSL`/`requireSSL`/`verifyServerCertificate`
 * (Connector/J), `sslMode`/`ssl-mode` (MySQL), `tls` (Go driver), `ssl` (true, false, or mysql2's
 * JSON form); `sslca`/`ssl-ca`/`sslrootcert` name a PEM file. Default: no TLS, as dbsync2.
 */
export function sslOption(query: URLSearchParams, url: ParsedServerUrl): PoolOptions["ssl"] {
  const get = (...names: string[]) => {
    for (const name of names) {
      const value = query.get(name);
      if (value !== null) return value;
    }
    return undefined;
  };
  const caPath = get("sslca", "ssl-ca", "sslrootcert", "sslCa");
  let ca: string | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath, "utf8");
    } catch (error) {
      throw new TargetError(`${url.safeUrl}: cannot read the CA file ${caPath}: ${fileReason(error)}`);
    }
  }
  const verify = (identity: boolean) => ({
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(identity ? {} : { checkServerIdentity: () => undefined }),
  });
  const noVerify = { rejectUnauthorized: false, ...(ca ? { ca } : {}) };

  const mode = get("sslMode", "ssl-mode", "sslmode")?.toUpperCase();
  if (mode !== undefined) {
    switch (mode.replace("-", "_")) {
      case "DISABLED":
      case "DISABLE":
        return undefined;
      case "PREFERRED":
      case "PREFER":
      case "REQUIRED":
      case "REQUIRE":
        return noVerify;
      case "VERIFY_CA":
        return verify(false);
      case "VERIFY_IDENTITY":
      case "VERIFY_FULL":
        return verify(true);
      default:
        throw new TargetError(`${url.safeUrl}: unknown sslMode "${mode}"; use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY`);
    }
  }
  const tls = get("tls")?.toLowerCase();
  if (tls !== undefined) {
    if (FALSE.has(tls)) return undefined;
    if (tls === "skip-verify" || tls === "preferred") return noVerify;
    return verify(true);
  }
  const ssl = get("ssl");
  if (ssl?.trim().startsWith("{")) {
    try {
      return JSON.parse(ssl) as PoolOptions["ssl"];
    } catch {
      throw new TargetError(`${url.safeUrl}: the ssl parameter is not valid JSON`);
    }
  }
  const use = (get("useSSL", "requireSSL", "ssl") ?? "").toLowerCase();
  if (TRUE.has(use)) {
    const check = get("verifyServerCertificate")?.toLowerCase();
    return check !== undefined && TRUE.has(check) ? verify(true) : noVerify;
  }
  return undefined;
}
