// The phonecalls service's token hashes (phonecalls/tokens.ts) in the state store's database.
import { sql } from "drizzle-orm";
import { hashToken, newToken, type TokenRecord, type TokenStore } from "../phonecalls/tokens.ts";
import type { StateDb } from "./db.ts";
import { bare, insertSql, selectList } from "./statements.ts";
import { stateOperation } from "./state.ts";

export function createTokenStore(db: StateDb): TokenStore {
  const { phonecallTokens: tokens } = db.tables;
  return {
    add: (label) =>
      stateOperation("cannot add a token", async () => {
        const token = newToken();
        const hash = hashToken(token);
        const record: TokenRecord = { id: `tok_${hash.slice(0, 12)}`, label, createdAt: new Date().toISOString(), revokedAt: null };
        const row = [
          [tokens.id, record.id],
          [tokens.label, label],
          [tokens.hash, hash],
          [tokens.createdAt, record.createdAt],
        ] as const;
        await db.runCounted(insertSql(tokens, row));
        return { record, token };
      }),

    list: () =>
      stateOperation("cannot list the tokens", async () => {
        const { id, label, createdAt, revokedAt } = tokens;
        const columns = selectList({ id, label, createdAt, revokedAt });
        return db.all<TokenRecord>(sql`SELECT ${columns} FROM ${tokens} ORDER BY ${tokens.createdAt}, ${tokens.id}`);
      }),

    revoke: (idOrLabel) =>
      stateOperation("cannot revoke a token", () =>
        db.runCounted(
          sql`UPDATE ${tokens} SET ${bare(tokens.revokedAt)} = ${new Date().toISOString()}
              WHERE (${tokens.id} = ${idOrLabel} OR ${tokens.label} = ${idOrLabel}) AND ${tokens.revokedAt} IS NULL`,
        ),
      ),

    activeHashes: () =>
      stateOperation("cannot read the tokens", async () => {
        const rows = await db.all<{ hash: string }>(
          sql`SELECT ${selectList({ hash: tokens.hash })} FROM ${tokens} WHERE ${tokens.revokedAt} IS NULL`,
        );
        return rows.map((row) => row.hash);
      }),
  };
}
