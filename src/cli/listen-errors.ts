// Why a server could not listen, in our words (Bun's own: "Error: getaddrinfo ENOTFOUND a b").
import { networkReason } from "../core/common/network-errors.ts";
import { UsageError } from "./argv.ts";

/**
 * A host that is no address of this machine is a usage error (the flag is wrong); a port in use or
 * not allowed may change by itself (a previous instance still stopping), so it is a plain failure.
 */
export function listenError(host: string, port: number, error: unknown): Error {
  const code = String((error as { code?: unknown } | undefined)?.code ?? "");
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (code === "ENOTFOUND" || code === "EADDRNOTAVAIL" || code.startsWith("EAI_")) {
    return new UsageError(`cannot listen on ${where}: --host ${host} is no address of this machine (e.g. 127.0.0.1, or 0.0.0.0 for all)`);
  }
  if (code === "EADDRINUSE") return new Error(`cannot listen on ${where}: the port is already in use`);
  if (code === "EACCES") return new Error(`cannot listen on ${where}: not allowed (ports below 1024 need privileges)`);
  return new Error(`cannot listen on ${where}: ${networkReason(error)}`);
}
