// Masks what may be a secret in text bound for a log, by its shape rather than only by a list of
// known secrets: a token stored by `dbsync tokens add`, a password in a mistyped URL or a value in a
// request's query string is never registered anywhere, and must not reach a log either. Portable
// (no runtime APIs), so that the edge entry points mask their console the same way.

const MASK = "***";

/** Names whose value is a secret wherever they appear as `name=value` or `name: value`. */
const SECRET_NAMES = "(?:auth[_-]?)?tokens?|passwords?|passwd|pwd|secrets?|api[_-]?keys?";

const RULES: [RegExp, string][] = [
  // A URL's password, also when the ":" after the scheme is missing ("mysql//user:password@host").
  [/(\b[a-z][a-z0-9+.-]*:?\/\/[^:/@\s]*:)[^@\s/]*@/gi, `$1${MASK}@`],
  // Every value of a query string (of a URL or of a bare request target such as "*?token=…").
  [/([?&][^=&#\s"'<>?]*=)[^&#\s"'<>]+/g, `$1${MASK}`],
  // token=…, "password": "…", password:x, DBSYNC_AUTH_TOKEN=… outside a query string. A colon with a
  // space after an unquoted name is prose ("needs the token: --token or …", "using password: YES").
  [
    new RegExp(String.raw`((?<![a-z0-9])(?:${SECRET_NAMES})(?:["']\s*:\s*["']?|\s*=\s*["']?|:(?=[^\s"'])))[^\s"'&;}\]]+`, "gi"),
    `$1${MASK}`,
  ],
  // The shape of the phonecalls tokens dbsync makes: "dbs_" and 43 characters of base64url.
  [/\bdbs_[A-Za-z0-9_-]{20,}/g, `dbs_${MASK}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`],
];

export function maskSecretShapes(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}
