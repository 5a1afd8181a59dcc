// `--state` as every command reads it: the libSQL URL of the state store, by default the file in
// the data folder, with relative file paths made absolute.
import { existsSync } from "node:fs";
import type { StateStore } from "../core/state.ts";
import { openStateStore } from "../core/state-store.ts";
import { UsageError } from "./argv.ts";
import { dataDir } from "./paths.ts";
import { absoluteFileUrl } from "./sync-command.ts";

export function stateStoreUrl(flag: string | undefined): string {
  return absoluteFileUrl(flag?.trim() || `file:${dataDir()}/state.db`);
}

/**
 * Runs `work` on the state store and closes it. With `mustExist`, a file that is not there is an
 * error (naming `whose` --state to give): opening a mistyped path would create an empty store and
 * report "nothing there".
 */
export async function withStateStore<T>(
  flag: string | undefined,
  work: (state: StateStore) => Promise<T>,
  { mustExist = true, whose = "the sync's" }: { mustExist?: boolean; whose?: string } = {},
): Promise<T> {
  const url = stateStoreUrl(flag);
  const path = url.startsWith("file:") ? url.slice(5).split("?")[0] : undefined;
  if (mustExist && path && !existsSync(path)) throw new UsageError(`no state store at ${path} (give ${whose} --state)`);
  const state = await openStateStore(url);
  try {
    return await work(state);
  } finally {
    await state.close();
  }
}
