// Leases and replicas (leases.ts) in the state store's database, the same statements on every family.
// A lease row is never deleted, so its token only grows: it rises whenever the lease goes to an owner
// that did not hold it a moment before (another replica, or the same one after it expired or let go).
// Whether a replica got a lease is decided by one conditional UPDATE, which the database applies to
// the row one writer at a time, and read back in the same transaction.
import { type SQL, sql } from "drizzle-orm";
import type { StateDb, StateQueries } from "./db.ts";
import type { Fence, Lease, LeaseStore, ReplicaRecord } from "./leases.ts";
import { lockBusy } from "./conflicts.ts";
import { bare, insertIfMissingSql, lockRows, selectList, upsertSql, withNumbers } from "./statements.ts";
import { stateOperation } from "./state.ts";

/** A lease nobody has held yet: taken by the first acquire, which raises its token to 1. */
const FREE = { owner: "", token: 0, expiresAt: 0 };

export function createLeaseStore(db: StateDb): LeaseStore {
  const { leases, replicas } = db.tables;
  const leaseColumns = selectList({ name: leases.name, owner: leases.owner, token: leases.token, expiresAt: leases.expiresAt });
  const toLease = (row: Lease) => withNumbers(row, ["token", "expiresAt"]);

  const readNow = async (on: StateQueries): Promise<number> => {
    const [row] = await on.all<{ now_ms: unknown }>(sql`SELECT ${db.nowMs} AS now_ms`);
    return Number(row?.now_ms);
  };

  /**
   * Applies `set` to the lease when `where` holds (both given the database's clock), and returns the
   * lease when its row then has this owner and expiry: the UPDATE either changed it or left it.
   */
  const changeLease = (
    name: string,
    owner: string,
    ttlMs: number,
    set: (now: number) => SQL,
    where: (now: number) => SQL,
    { wait }: { wait: boolean },
  ) =>
    db.write(async (tx) => {
      // Taking a lease never waits for its row: a replica stalled inside one of its fenced
      // transactions holds that row locked until it wakes, and waiting for it would stall this
      // replica's whole round. Renewing waits: only the owner renews, behind its own short writes.
      if (!wait && db.family !== "sqlite") {
        await tx.all(sql`SELECT ${leases.name} FROM ${leases} WHERE ${leases.name} = ${name} FOR UPDATE NOWAIT`);
      }
      const now = await readNow(tx);
      await tx.run(sql`UPDATE ${leases} SET ${set(now)} WHERE ${leases.name} = ${name} AND (${where(now)})`);
      const lease = await readLease(tx, name);
      return lease?.owner === owner && lease.expiresAt === now + ttlMs ? lease : undefined;
    });

  const readLease = async (on: StateQueries, name: string): Promise<Lease | undefined> => {
    const [row] = await on.all<Lease>(sql`SELECT ${leaseColumns} FROM ${leases} WHERE ${leases.name} = ${name}${lockRows(db.family)}`);
    return row && toLease(row);
  };

  return {
    now: () => stateOperation("cannot read the database's clock", () => readNow(db)),

    acquire: (name, owner, ttlMs) =>
      stateOperation(`cannot take the lease of ${name}`, async () => {
        // On its own, before the transaction: MySQL's insert of an existing key would hold a shared
        // lock on the row, and two replicas holding one each then deadlock on the UPDATE. Only when a
        // plain read finds no row: MySQL's insert of an existing key also waits for a lock on it.
        const free = [
          [leases.name, name],
          [leases.owner, FREE.owner],
          [leases.token, FREE.token],
          [leases.expiresAt, FREE.expiresAt],
        ] as const;
        const [known] = await db.all(sql`SELECT ${leases.name} FROM ${leases} WHERE ${leases.name} = ${name}`);
        if (!known) await db.runCounted(insertIfMissingSql(db.family, leases, free, [leases.name]));
        // MySQL applies SET left to right: the token is decided on the row as it was.
        const held = (now: number) => sql`${leases.owner} = ${owner} AND ${leases.expiresAt} >= ${now}`;
        const taken = changeLease(
          name,
          owner,
          ttlMs,
          (now) =>
            sql`${bare(leases.token)} = CASE WHEN ${held(now)} THEN ${leases.token} ELSE ${leases.token} + 1 END,
                ${bare(leases.owner)} = ${owner}, ${bare(leases.expiresAt)} = ${now + ttlMs}`,
          (now) => sql`${held(now)} OR ${leases.expiresAt} < ${now}`,
          { wait: false },
        );
        // Its row locked by another replica's transaction: that one holds it or is taking it now.
        return taken.catch((error: unknown) => (lockBusy(error) ? undefined : Promise.reject(error)));
      }),

    renew: (lease, ttlMs) =>
      stateOperation(`cannot renew the lease of ${lease.name}`, () =>
        changeLease(
          lease.name,
          lease.owner,
          ttlMs,
          (now) => sql`${bare(leases.expiresAt)} = ${now + ttlMs}`,
          (now) => sql`${stillHeld(lease)} AND ${leases.expiresAt} >= ${now}`,
          { wait: true },
        ),
      ),

    release: (lease) =>
      stateOperation(`cannot hand over the lease of ${lease.name}`, async () => {
        // The owner and token stay: the next owner's token is counted from them.
        await db.runCounted(
          sql`UPDATE ${leases} SET ${bare(leases.expiresAt)} = 0 WHERE ${leases.name} = ${lease.name} AND ${stillHeld(lease)}`,
        );
      }),

    list: () =>
      stateOperation("cannot read the leases", async () => {
        const rows = await db.all<Lease>(sql`SELECT ${leaseColumns} FROM ${leases} WHERE ${leases.token} > 0 ORDER BY ${leases.name}`);
        return rows.map(toLease);
      }),

    heartbeat: (replica) =>
      stateOperation(`cannot record the heartbeat of replica ${replica.id}`, async () => {
        const now = await readNow(db);
        const row = [
          [replicas.id, replica.id],
          [replicas.host, replica.host],
          [replicas.pid, replica.pid],
          [replicas.startedAt, now],
          [replicas.heartbeatAt, now],
          [replicas.campaigns, replica.campaigns],
          [replicas.stopped, 0],
        ] as const;
        const replace = [replicas.host, replicas.pid, replicas.heartbeatAt, replicas.stopped, replicas.campaigns];
        await db.runCounted(upsertSql(db.family, replicas, row, [replicas.id], { replace }));
      }),

    leave: (id) =>
      stateOperation(`cannot record that replica ${id} stopped`, async () => {
        await db.runCounted(sql`UPDATE ${replicas} SET ${bare(replicas.stopped)} = 1 WHERE ${replicas.id} = ${id}`);
      }),

    replicas: () =>
      stateOperation("cannot read the replicas", async () => {
        const { id, host, pid, startedAt, heartbeatAt, stopped, campaigns } = replicas;
        const columns = selectList({ id, host, pid, startedAt, heartbeatAt, stopped, campaigns });
        const rows = await db.all<ReplicaRecord>(sql`SELECT ${columns} FROM ${replicas} ORDER BY ${replicas.id}`);
        return rows.map((row) => ({ ...withNumbers(row, ["pid", "startedAt", "heartbeatAt"]), stopped: Number(row.stopped) === 1 }));
      }),
  };

  function stillHeld(lease: Fence & { owner: string }): SQL {
    return sql`${leases.owner} = ${lease.owner} AND ${leases.token} = ${lease.token}`;
  }
}
