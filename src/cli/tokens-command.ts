// `dbsync tokens add|list|revoke`: the phonecalls service's tokens, kept as hashes in the state store.
import { type ArgsDef, defineCommand } from "citty";
import * as v from "valibot";
import type { StateStore } from "../core/state/state.ts";
import { UsageError, withEnvironment } from "./argv.ts";
import { valueFlag } from "./flag-schemas.ts";
import { onShutdown } from "./shutdown.ts";
import { withStateStore } from "./state-option.ts";

const STATE_FLAG = {
  state: valueFlag("State store: a libSQL file or server, PostgreSQL or MySQL/MariaDB URL (default: the sync's)", "url"),
};

/** The token commands name the server's --state; `add` may make a new store. */
const withState = <T>(flag: unknown, work: (state: StateStore) => Promise<T>, create = false) =>
  withStateStore(typeof flag === "string" ? flag : undefined, work, { mustExist: !create, whose: "the server's" });

/** A token subcommand: the server's --state and `extra` flags, each also read from its variable. */
function tokenCommand(name: string, description: string, extra: ArgsDef, run: (flags: Record<string, unknown>) => Promise<void>) {
  const flagDefs: ArgsDef = { ...STATE_FLAG, ...extra };
  return defineCommand({
    meta: { name, description },
    args: flagDefs,
    run: ({ args }) => run(withEnvironment(args, flagDefs, process.env)),
  });
}

const addCommand = tokenCommand(
  "add",
  "Make a new token; it is shown once, only its hash is kept",
  { label: valueFlag("A name for the token, e.g. the PBX it is for", "text") },
  async (flags) => {
    const label = v.safeParse(v.pipe(v.string(), v.trim(), v.maxLength(100, "--label is longer than 100 characters")), flags.label ?? "");
    if (!label.success) throw new UsageError(label.issues[0]?.message ?? "invalid --label");
    const { record, token } = await withState(flags.state, (state) => state.tokens.add(label.output), true);
    // Shown once: a token nobody could read (its output was closed) must not stay valid. Listening
    // for a stop keeps the closed pipe from ending the process before the token is revoked again.
    onShutdown();
    const shown = await new Promise<boolean>((resolve) => process.stdout.write(`${token}\n`, (error) => resolve(!error)));
    if (!shown) {
      await withState(flags.state, (state) => state.tokens.revoke(record.id));
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`token ${record.id}${record.label ? ` (${record.label})` : ""} added; it is not shown again\n`);
  },
);

const listCommand = tokenCommand("list", "List the tokens (never the tokens themselves)", {}, async (flags) => {
  const records = await withState(flags.state, (state) => state.tokens.list());
  if (records.length === 0) {
    process.stdout.write("no tokens\n");
    return;
  }
  for (const r of records)
    process.stdout.write(`${r.id}  ${r.createdAt}  ${r.revokedAt ? `revoked ${r.revokedAt}` : "active"}  ${r.label}\n`);
});

const revokeCommand = tokenCommand(
  "revoke",
  "Revoke a token by id or label",
  { id: valueFlag("The token's id (tok_…) or label", "id") },
  async (flags) => {
    const id = typeof flags.id === "string" ? flags.id.trim() : "";
    if (!id) throw new UsageError("--id is required: the token's id (tok_…) or label, see dbsync tokens list");
    const revoked = await withState(flags.state, (state) => state.tokens.revoke(id));
    if (revoked === 0) throw new UsageError(`no active token has the id or label "${id}"`);
    process.stdout.write(`${revoked} token${revoked === 1 ? "" : "s"} revoked\n`);
  },
);

export const tokensCommand = defineCommand({
  meta: { name: "tokens", description: "Tokens of the phonecalls web service: add, list, revoke" },
  subCommands: { add: addCommand, list: listCommand, revoke: revokeCommand },
});
