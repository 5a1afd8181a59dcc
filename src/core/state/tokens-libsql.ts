// The phonecalls service's token hashes in the libSQL state store.
import type { Client } from "@libsql/client";
import type { Serial } from "../common/serial.ts";
import { StateError } from "./state.ts";
import { hashToken, newToken, type TokenRecord, type TokenStore } from "../phonecalls/tokens.ts";

export const TOKENS_DDL = `CREATE TABLE IF NOT EXISTS phonecall_tokens (
  id TEXT NOT NULL PRIMARY KEY,
  label TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
)`;

export class LibsqlTokenStore implements TokenStore {
  constructor(
    private readonly client: Client,
    private readonly safeUrl: string,
    private readonly serial: Serial,
  ) {}

  add(label: string): Promise<{ record: TokenRecord; token: string }> {
    return this.guard("cannot add a token", async () => {
      const token = newToken();
      const hash = hashToken(token);
      const record: TokenRecord = { id: `tok_${hash.slice(0, 12)}`, label, createdAt: new Date().toISOString(), revokedAt: null };
      await this.client.execute({
        sql: "INSERT INTO phonecall_tokens (id, label, hash, created_at) VALUES (?, ?, ?, ?)",
        args: [record.id, label, hash, record.createdAt],
      });
      return { record, token };
    });
  }

  list(): Promise<TokenRecord[]> {
    return this.guard("cannot list the tokens", async () => {
      const rows = await this.client.execute("SELECT id, label, created_at, revoked_at FROM phonecall_tokens ORDER BY created_at, id");
      return rows.rows.map((row) => ({
        id: String(row.id),
        label: String(row.label),
        createdAt: String(row.created_at),
        revokedAt: row.revoked_at === null ? null : String(row.revoked_at),
      }));
    });
  }

  revoke(idOrLabel: string): Promise<number> {
    return this.guard("cannot revoke a token", async () => {
      const result = await this.client.execute({
        sql: "UPDATE phonecall_tokens SET revoked_at = ? WHERE (id = ? OR label = ?) AND revoked_at IS NULL",
        args: [new Date().toISOString(), idOrLabel, idOrLabel],
      });
      return result.rowsAffected;
    });
  }

  activeHashes(): Promise<string[]> {
    return this.guard("cannot read the tokens", async () => {
      const rows = await this.client.execute("SELECT hash FROM phonecall_tokens WHERE revoked_at IS NULL");
      return rows.rows.map((row) => String(row.hash));
    });
  }

  private async guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await this.serial.run(work);
    } catch (error) {
      throw new StateError(`${what} in the state store ${this.safeUrl}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
}
