// `--state` as every command reads it: the URL of the state store (a libSQL file or server,
// PostgreSQL or MySQL/MariaDB), by default the file in the data folder, with relative file paths made
// absolute.
import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { parseLibsqlUrl } from "../core/sql/libsql-url.ts";
import { parseServerUrl } from "../core/sql/server-url.ts";
import { StateError, type StateStore } from "../core/state/state.ts";
import { openStateStore, stateFamilyOf } from "../state/open.ts";
import { UsageError } from "./argv.ts";
import { absoluteFileUrl } from "./file-urls.ts";
import { dataDir } from "./paths.ts";

/**
 * The state store's URL, checked before anything is opened: a malformed one, a database that cannot
 * hold the store, or a file in a folder that does not exist (a typo, which would otherwise become a
 * new, empty store), is a usage error. The default location is made by dataDir.
 */
export function stateStoreUrl(flag: string | undefined): string {
  const given = flag?.trim();
  if (!given) return absoluteFileUrl(`file:${dataDir()}/state.db`);
  const url = absoluteFileUrl(given);
  const family = usage(() => stateFamilyOf(url));
  if (family !== "sqlite") {
    parseServerUrl(url, (message) => new UsageError(`--state: ${message}`));
    return url;
  }
  const path = parseLibsqlUrl(url, (message) => new UsageError(`--state: ${message}`)).filePath;
  if (path === "") throw new UsageError("--state names no file; use file:PATH");
  if (path !== undefined) {
    if (existsSync(path) && statSync(path).isDirectory()) {
      throw new UsageError(`--state: ${path} is a folder; name the state file in it, e.g. ${path.replace(/\/$/, "")}/state.db`);
    }
    const folder = dirname(path);
    if (!existsSync(folder)) {
      throw new UsageError(`--state: the folder ${folder} does not exist (the state file may be new, its folder must be there)`);
    }
    if (!statSync(folder).isDirectory()) throw new UsageError(`--state: ${folder} is a file, not a folder`);
  }
  return url;
}

function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof StateError ? new UsageError(`--state: ${error.message}`) : error;
  }
}

/**
 * Runs `work` on the state store and closes it. With `mustExist`, a file that is not there is an
 * error (naming `whose` --state to give): opening a mistyped path would create an empty store and
 * report "nothing there".
 */
export async function withStateStore<T>(
  flag: string | undefined,
  work: (state: StateStore) => Promise<T>,
  { mustExist = true, whose = "the sync's", readOnly = false }: { mustExist?: boolean; whose?: string; readOnly?: boolean } = {},
): Promise<T> {
  // A store that must be there is named as missing before its folder is.
  const wanted = flag?.trim() ? absoluteFileUrl(flag.trim()) : stateStoreUrl(undefined);
  const path = wanted.startsWith("file:") ? wanted.slice(5).split("?")[0] : undefined;
  if (mustExist && path && !existsSync(path)) throw new UsageError(`no state store at ${path} (give ${whose} --state)`);
  const url = stateStoreUrl(flag);
  const state = await openStateStore(url, { readOnly });
  try {
    return await work(state);
  } finally {
    await state.close();
  }
}
