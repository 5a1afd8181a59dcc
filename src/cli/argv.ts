// The original's flags are pflag style (`--c X`); its docs and users also write `-c X`. Both are
// accepted; anything that is not a known flag stops the program with a clear message (the original
// ignored single-dash flags silently).
import type { ArgsDef } from "citty";

export class UsageError extends Error {
  override name = "UsageError";
}

/** The flat form of the original (`dbsync --a db_sync …`) means the `sync` subcommand. */
export function routeSubcommand(argv: readonly string[], subcommands: readonly string[]): string[] {
  const first = argv[0];
  if (first === undefined) return [];
  if (subcommands.includes(first)) return [...argv];
  if (first === "--help" || first === "-h" || first === "help" || first === "--version") return [...argv];
  if (first.startsWith("-")) return ["sync", ...argv];
  return [...argv];
}

/**
 * Rewrites `-flag` to `--flag` for every known flag and rejects unknown ones. Values that start
 * with a dash (a negative number, say) are left alone when they follow a flag that takes a value.
 */
export function normaliseFlags(args: readonly string[], defs: ArgsDef): string[] {
  const known = new Map<string, boolean>(); // name → takes a value
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const takesValue = def.type !== "boolean";
    known.set(name, takesValue);
    for (const alias of [("alias" in def ? def.alias : undefined) ?? []].flat()) known.set(alias, takesValue);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const match = /^(--?)(no-)?([^=]+)(=.*)?$/.exec(arg);
    if (!match || arg === "-") {
      out.push(arg);
      continue;
    }
    const [, , negated, name = "", value] = match;
    if (name === "h" || name === "help") {
      out.push("--help");
      continue;
    }
    const takesValue = known.get(name);
    if (takesValue === undefined || (negated && takesValue)) {
      // Only the name: the value of a mistyped flag may well be a token.
      throw new UsageError(`unknown flag ${arg.split("=")[0]} (see --help for the flags)`);
    }
    const next = args[i + 1];
    // pflag reads `--v true` as a flag and a stray word; we read what the user meant.
    if (!takesValue && value === undefined && (next === "true" || next === "false")) {
      out.push(`--${negated ?? ""}${name}=${next}`);
      i++;
      continue;
    }
    // A switch given a value: only the words of true and false (citty would read anything as true).
    if (!takesValue && value !== undefined) {
      const word = value.slice(1);
      parseBoolean(word, `--${name}`);
      out.push(`--${negated ?? ""}${name}=${["1", "true", "yes", "on"].includes(word.trim().toLowerCase())}`);
      continue;
    }
    out.push(`--${negated ?? ""}${name}${value ?? ""}`);
    if (takesValue && value === undefined) {
      if (next === undefined) throw new UsageError(`flag --${name} needs a value`);
      out.push(next);
      i++;
    }
  }
  return out;
}

/**
 * Flags not given on the command line are taken from `DBSYNC_<FLAG>` (dashes as underscores), or
 * from `DIALFIRE_<FLAG>` as dbsync2 1.5 read them. The command line wins.
 */
export function withEnvironment(
  parsed: Record<string, unknown>,
  defs: ArgsDef,
  env: Record<string, string | undefined>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...parsed };
  variablesUsed.clear();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional" || merged[name] !== undefined) continue;
    const suffix = name.toUpperCase().replace(/-/g, "_");
    const variable = [`DBSYNC_${suffix}`, `DIALFIRE_${suffix}`].find((candidate) => env[candidate] !== undefined);
    if (variable === undefined) continue;
    const raw = env[variable] as string;
    merged[name] = def.type === "boolean" ? parseBoolean(raw, variable) : raw;
    variablesUsed.set(name, variable);
  }
  return merged;
}

/** Flag → the variable its value came from, for the command this process runs. */
const variablesUsed = new Map<string, string>();

/**
 * A usage message as the user wrote the setting: `--interval` becomes `DBSYNC_INTERVAL` when that
 * variable gave the value (a user who never typed `--interval` would look for it in vain).
 */
export function inUserTerms(message: string): string {
  return message.replace(/--([a-z][a-z0-9-]*)(?![a-z0-9-])/gi, (written, name: string) => variablesUsed.get(name) ?? written);
}

function parseBoolean(raw: string, name: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off", ""].includes(value)) return false;
  throw new UsageError(`${name} must be true or false (got "${raw}")`);
}
