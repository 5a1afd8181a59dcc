// Where `dbsync run` serves its health, readiness and metrics: `HOST:PORT`, from the config file's
// `http:` or the `--http` flag (which wins). One schema for both, so a value is checked the same way.
import * as v from "valibot";
import { valueFlag } from "./flag-schemas.ts";

export interface ListenAddress {
  host: string;
  /** 0: any free port (the console says which). */
  port: number;
}

/** `127.0.0.1:9464`, `0.0.0.0:9464`, `localhost:9464`, `[::1]:9464`. */
const ADDRESS = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/;

function toAddress(text: string): ListenAddress | undefined {
  const match = ADDRESS.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  return port <= 65_535 ? { host: (match[1] ?? match[2]) as string, port } : undefined;
}

/** `--http`; in the file the message names the key `http` (see inFileTerms). */
export const HTTP_ADDRESS_SCHEMA = v.pipe(
  v.string(),
  v.trim(),
  v.check(
    (text) => toAddress(text) !== undefined,
    (issue) => `--http must be HOST:PORT, like 127.0.0.1:9464 or [::1]:9464, with a port up to 65535 (not "${issue.input}")`,
  ),
  v.transform((text) => toAddress(text) as ListenAddress),
);

export const HTTP_FLAG = valueFlag("Serve /healthz, /readyz and /metrics on HOST:PORT (instead of http: of the file)", "host:port");

/** The address as a URL's host and port. */
export function addressText({ host, port }: ListenAddress): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
