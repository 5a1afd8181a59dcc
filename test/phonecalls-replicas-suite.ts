// Several `dbsync serve` processes on one database refresh the same phone number index. Run by the
// file of each database (phonecalls.<database>.test.ts). Two PhoneIndex instances play two servers; their refreshes are paused at chosen
// reads of contacts so that the steps interleave the way two processes can: one server has read a
// contact, the sync changes that contact's number, the other server indexes the change and goes on.
// Whatever the order, a third server must then find the number's present owner, never the former.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PhoneIndex } from "../src/core/phonecalls/phone-index.ts";
import { ContactReader } from "../src/core/sql/contact-reader.ts";
import type { Dialect, Row } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { resolveMapping } from "../src/core/talkdesk/contact-mapping.ts";

/** Resolves `reached` when its reader gets there, and holds that read until opened. */
class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  reach!: () => void;
  readonly reached = new Promise<void>((resolve) => (this.reach = resolve));
}

/** The contacts table read one contact per step, the `pauseAt`-th read held at `gate`. */
class PausingReader extends ContactReader {
  #reads = 0;

  constructor(
    dialect: Dialect,
    table: string,
    private readonly pauseAt: number,
    private readonly gate: Gate,
  ) {
    super(dialect, table);
  }

  override async page(...args: Parameters<ContactReader["page"]>): ReturnType<ContactReader["page"]> {
    const [query, ...rest] = args;
    const page = await super.page({ ...query, limit: 1 }, ...rest);
    if (++this.#reads === this.pauseAt) {
      this.gate.reach();
      await this.gate.opened;
    }
    return page;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function contact(id: string, phone: string, changed: string): Row {
  return { $id: id, $md5: `md5-${id}-${changed}`, $changed: changed, $phone: phone };
}

export function describeReplicas(name: string, openDialect: () => Promise<Dialect>): void {
  describe(`phone index refreshed by several servers on ${name}`, () => {
    let dialect: Dialect;
    const run = Math.random().toString(36).slice(2, 7);

    beforeAll(async () => {
      dialect = await openDialect();
    });
    afterAll(async () => {
      await dialect?.close();
    });

    function index(prefix: string, reader: ContactReader, errors: unknown[]): PhoneIndex {
      return new PhoneIndex(dialect, reader, prefix, {
        phoneColumns: (columns) => resolveMapping(columns).phones,
        settleMs: 0,
        onError: (error) => errors.push(error),
      });
    }

    test("a server that read a contact before its number changed cannot bring the old number back", async () => {
      const prefix = `pr${run}_`;
      const table = dialect.fitIdentifier(`${prefix}contacts`);
      const target = new SqlTarget(dialect, prefix);
      await target.prepare([]);
      await target.write({ contacts: [contact("c-old-owner", "+49 30 1111111", "2026-01-01T00:00:00Z")] });
      const errors: unknown[] = [];
      // Server A pauses after its first read of contacts, server B after its second.
      const gateA = new Gate();
      const gateB = new Gate();
      const serverA = index(prefix, new PausingReader(dialect, table, 1, gateA), errors);
      const serverB = index(prefix, new PausingReader(dialect, table, 2, gateB), errors);

      serverA.warmUp();
      await gateA.reached;
      // The sync moves the contact to a new number and adds one more contact after it. A database
      // that makes writers wait for A's step (SQLite) lets this finish only once A is through.
      const synced = target.write({
        contacts: [
          contact("c-old-owner", "+49 30 2222222", "2026-01-02T00:00:00Z"),
          contact("c-later", "+49 30 3333333", "2026-01-03T00:00:00Z"),
        ],
      });
      await Promise.race([synced, sleep(1_000)]);
      // B indexes the new number and reads on; A, resumed, ends before B's next step. Where steps
      // take turns, B (or A) waits for the other instead: the waits are bounded, not required.
      serverB.warmUp();
      await Promise.race([gateB.reached, sleep(1_000)]);
      gateA.open();
      await Promise.race([serverA.settled(), sleep(2_000)]);
      gateB.open();
      await synced;
      await serverA.settled();
      await serverB.settled();

      const serverC = index(prefix, new ContactReader(dialect, table), errors);
      expect({
        oldNumber: await serverC.find("+49 30 1111111"),
        newNumber: await serverC.find("+49 30 2222222"),
        later: await serverC.find("+49 30 3333333"),
      }).toEqual({
        oldNumber: { ambiguous: false },
        newNumber: { contactId: "c-old-owner" },
        later: { contactId: "c-later" },
      });
      expect(errors).toEqual([]);
    });
  });
}
