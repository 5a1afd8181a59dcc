// The server's settings on an edge runtime, where there are no flags: the environment variables
// that `dbsync serve` reads too (DBSYNC_TP, DBSYNC_PAGE_SIZE, …), checked the same way.
import * as v from "valibot";
import { checkMappingFile, type MappingFile } from "../core/talkdesk/contact-mapping.ts";
import { hashToken, tokenList } from "../core/phonecalls/tokens.ts";
import type { ServeSettings } from "../server/deps.ts";

/** Variables are strings (Workers' `vars` may also be numbers or JSON objects). */
export type EdgeEnv = Record<string, unknown>;

// Every message names its variable and never holds its value: a value may be a secret, and the
// message is the answer to whoever asked.
function number(name: string, min: number, max: number, fallback: number) {
  return v.optional(
    v.pipe(
      v.union([v.number(), v.pipe(v.string(), v.trim(), v.regex(/^\d+(\.\d+)?$/), v.transform(Number))], `${name} must be a number`),
      v.minValue(min, `${name} must be at least ${min}`),
      v.maxValue(max, `${name} must be at most ${max}`),
    ),
    fallback,
  );
}

const text = (name: string) => v.optional(v.string(`${name} must be text (in wrangler.toml, in quotes)`));

const EnvSchema = v.object({
  DBSYNC_TP: v.optional(
    v.pipe(v.string("DBSYNC_TP must be text"), v.regex(/^[\p{L}\p{N}_$]*$/u, "DBSYNC_TP may contain letters, digits, _ and $ only")),
    "",
  ),
  DBSYNC_PAGE_SIZE: v.pipe(number("DBSYNC_PAGE_SIZE", 1, 10_000, 500), v.integer("DBSYNC_PAGE_SIZE must be a whole number")),
  DBSYNC_SETTLE: number("DBSYNC_SETTLE", 0, 3600, 60),
  /** The mapping file's content (there are no files at the edge). */
  DBSYNC_TALKDESK_MAPPING: v.optional(v.union([v.string(), v.looseObject({})], "DBSYNC_TALKDESK_MAPPING must be JSON text")),
  DBSYNC_TALKDESK_USERNAME: text("DBSYNC_TALKDESK_USERNAME"),
  DBSYNC_TALKDESK_PASSWORD: text("DBSYNC_TALKDESK_PASSWORD"),
  DBSYNC_PHONECALLS_TOKENS: text("DBSYNC_PHONECALLS_TOKENS"),
});

export class EdgeSettingsError extends Error {
  override name = "EdgeSettingsError";
}

export interface EdgeSettings extends ServeSettings {
  tokenHashes: readonly string[];
}

export function edgeSettings(env: EdgeEnv): EdgeSettings {
  const parsed = v.safeParse(EnvSchema, env);
  if (!parsed.success) throw new EdgeSettingsError(parsed.issues[0]?.message ?? "invalid settings");
  const settings = parsed.output;
  const username = settings.DBSYNC_TALKDESK_USERNAME;
  const password = settings.DBSYNC_TALKDESK_PASSWORD;
  return {
    prefix: settings.DBSYNC_TP,
    talkdesk: {
      credentials: username && password ? { username, password } : undefined,
      mapping: mappingOf(settings.DBSYNC_TALKDESK_MAPPING),
      pageSize: settings.DBSYNC_PAGE_SIZE,
      settleMs: settings.DBSYNC_SETTLE * 1000,
    },
    tokenHashes: tokenList(settings.DBSYNC_PHONECALLS_TOKENS).map(hashToken),
  };
}

function mappingOf(raw: string | object | undefined): MappingFile | undefined {
  if (raw === undefined || raw === "") return undefined;
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new EdgeSettingsError("DBSYNC_TALKDESK_MAPPING must be JSON text (the mapping file's content)");
    }
  }
  const checked = checkMappingFile(value);
  if ("error" in checked) throw new EdgeSettingsError(`DBSYNC_TALKDESK_MAPPING: ${checked.error}`);
  return checked.mapping;
}
