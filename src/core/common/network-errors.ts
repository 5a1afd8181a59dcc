// What a failed fetch() means, in our words. The runtime's own messages name its internals or give
// advice meant for its programmers (Bun: "For more information, pass `verbose: true` in the second
// argument to fetch()"), so only the error's code is trusted, and unknown ones get a plain summary.

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: "connection refused (nothing listens on that host and port)",
  ConnectionRefused: "connection refused (nothing listens on that host and port)",
  ENOTFOUND: "host not found (check the host name)",
  EAI_AGAIN: "host name lookup failed (DNS unreachable?)",
  ECONNRESET: "the connection was closed by the other side",
  ConnectionClosed: "the connection was closed by the other side",
  EPIPE: "the connection was closed by the other side",
  ETIMEDOUT: "the connection timed out",
  ECONNABORTED: "the connection was aborted",
  EHOSTUNREACH: "host unreachable (no route to it)",
  ENETUNREACH: "network unreachable",
  EPROTO: "TLS handshake failed (does the server speak HTTPS on this port?)",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS: the certificate is not for this host name",
  CERT_HAS_EXPIRED: "TLS: the server's certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS: the server's certificate is self-signed (not trusted)",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS: a self-signed certificate in the server's chain (not trusted)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS: the server's certificate cannot be verified",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "TLS: the issuer of the server's certificate is not trusted here",
  ERR_INVALID_URL: "the URL is not valid",
  ERR_INVALID_ARG_VALUE: "the URL is not valid (only http:// and https:// are fetched)",
  ERR_TOO_MANY_REDIRECTS: "too many redirects",
};

/** One line saying why a request got no answer. */
export function networkReason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && BY_CODE[code]) return BY_CODE[code];
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === "TimeoutError") return "no answer in time";
  if (name === "AbortError") return "the request was cancelled";
  if (typeof code === "string" && /CERT|TLS|SSL/i.test(code)) return `TLS: the server's certificate is not accepted (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = (message.split("\n")[0] ?? message).replace(/\s*For more information, pass `verbose: true`.*$/i, "").trim();
  return typeof code === "string" && code !== "" && !firstLine.includes(code) ? `${firstLine} (${code})` : firstLine || "no answer";
}

/**
 * Our words for a connection that failed at the socket, found anywhere in what a database driver
 * wraps it in (`cause`, `originalError`, an AggregateError of several addresses); undefined when the
 * failure is not of that kind (the server answered with an error of its own).
 */
export function socketReason(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): string | undefined => {
    if (!e || typeof e !== "object" || seen.has(e)) return undefined;
    seen.add(e);
    const record = e as { code?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown; message?: unknown };
    if (
      typeof record.code === "string" &&
      BY_CODE[record.code] &&
      record.code !== "ERR_INVALID_URL" &&
      record.code !== "ERR_INVALID_ARG_VALUE"
    ) {
      return BY_CODE[record.code];
    }
    // libSQL's HTTP client and Bun's fetch name the code only at the start of the message.
    const leading = typeof record.message === "string" ? /^([A-Za-z]+):/.exec(record.message)?.[1] : undefined;
    if (leading && BY_CODE[leading] && leading.startsWith("E")) return BY_CODE[leading];
    if (typeof record.message === "string" && /getaddrinfo ENOTFOUND/.test(record.message)) return BY_CODE.ENOTFOUND;
    for (const inner of [record.cause, record.originalError, ...(Array.isArray(record.errors) ? record.errors : [])]) {
      const found = visit(inner);
      if (found) return found;
    }
    return undefined;
  };
  return visit(error);
}
