// Part of the shared phonecalls suite (phonecalls-suite.ts), run on every database: the unique key of
// a call must hold for every value the service accepts, values it cannot keep are refused, and a
// delete counts exactly the calls it removed while other clients create calls in its range.
import { describe, expect, test } from "bun:test";
import type { Answer } from "./phonecalls-suite.ts";

type Params = Record<string, string>;

/** What these tests need of one world of the suite: an app over fresh tables. */
export interface KeysWorld {
  create(params: Params): Promise<Answer>;
  remove(params: Params): Promise<Answer>;
  json(path: string, body: unknown): Promise<Answer>;
  get(path: string, params: Params): Promise<Answer>;
  calls(): Promise<Record<string, unknown>[]>;
}

const CREATE = "/direct/items/phonecalls/create";
const DELETE = "/direct/items/phonecalls/delete";
const CALL = { initiated: "2012-08-23T12:20:33", source: "7222", destination: "+49 30 1234567" };

export function describeKeys(world: () => Promise<KeysWorld>, token: string): void {
  describe("values a database could store differently", () => {
    /** Text no database keeps as sent: NUL, other control characters, unpaired surrogates. */
    const odd: [string, string][] = [
      ["NUL", "7222\u0000"],
      ["NUL inside", "72\u000022"],
      ["a control character", "7222\u0001"],
      ["a tab", "72\t22"],
      ["a line feed", "7222\n1"],
      ["DEL", "7222\u007f"],
      ["a C1 control", "7222\u0085"],
      ["an unpaired high surrogate", "7222\ud800"],
      ["an unpaired low surrogate", "7222\udc00"],
      ["surrogates in the wrong order", "7222\udc00\ud800"],
    ];
    for (const [what, value] of odd) {
      test(`${what} in source or destination: 400 naming the parameter, each repeat too, nothing stored`, async () => {
        const w = await world();
        for (const field of ["source", "destination"] as const) {
          for (let repeat = 0; repeat < 3; repeat++) {
            const answer = await w.json(CREATE, { token, ...CALL, [field]: value });
            expect({ field, repeat, status: answer.status, errors: Object.keys((answer.body.errors ?? {}) as object) }).toEqual({
              field,
              repeat,
              status: 400,
              errors: [field],
            });
            expect((answer.body.errors as Record<string, string>)[field]).toMatch(new RegExp(`^${field} `));
          }
        }
        expect(await w.calls()).toEqual([]);
      });
    }

    test("NUL by query string (%00) in every parameter of create and delete: 400 naming it", async () => {
      const w = await world();
      const create = { token, ...CALL, duration: "45", url: "https://pbx.example.com/r" };
      for (const field of Object.keys(create) as (keyof typeof create)[]) {
        const answer = await w.get(CREATE, { ...create, [field]: `${create[field]}\u0000` });
        expect({ field, status: answer.status, errors: Object.keys((answer.body.errors ?? {}) as object) }).toEqual({
          field,
          status: 400,
          errors: [field],
        });
      }
      const remove = { token, from: "2012-08-23", to: "2012-08-26" };
      for (const field of Object.keys(remove) as (keyof typeof remove)[]) {
        const answer = await w.get(DELETE, { ...remove, [field]: `${remove[field]}\u0000` });
        expect({ field, status: answer.status, errors: Object.keys((answer.body.errors ?? {}) as object) }).toEqual({
          field,
          status: 400,
          errors: [field],
        });
      }
      expect(await w.calls()).toEqual([]);
    });

    test("an unpaired surrogate in url or the token (JSON): 400 naming it", async () => {
      const w = await world();
      for (const [field, value] of [
        ["url", "https://pbx.example.com/\ud800"],
        ["token", `${token}\udfff`],
        ["duration", "4\ud8005"],
      ]) {
        const answer = await w.json(CREATE, { token, ...CALL, [field as string]: value });
        expect({ field, status: answer.status, errors: Object.keys((answer.body.errors ?? {}) as object) }).toEqual({
          field,
          status: 400,
          errors: [field],
        });
      }
      expect(await w.calls()).toEqual([]);
    });

    test("accepted values that differ in spaces, case, composition or plane: one row each, every repeat finds it", async () => {
      const w = await world();
      const sources = [
        "7222",
        "72 22",
        "72  22",
        "7222 x",
        "7222 X",
        "7222 é", // composed
        "7222 e\u0301", // the same letter decomposed: another text, kept as sent
        "7222 😀",
        "7222 ß",
        "7222 ss",
        "7222\u00a0a", // a no-break space inside
        "\u200b7222", // a zero-width space: no control character, kept
      ];
      const ids = new Map<string, unknown>();
      for (const source of sources) {
        const first = await w.json(CREATE, { token, ...CALL, source });
        expect({ source, status: first.status, created: first.body.created }).toEqual({ source, status: 200, created: true });
        ids.set(source, first.body.phonecallId);
      }
      for (const source of sources) {
        for (const how of ["json", "get"] as const) {
          const again = how === "json" ? await w.json(CREATE, { token, ...CALL, source }) : await w.get(CREATE, { token, ...CALL, source });
          expect({ source, how, status: again.status, created: again.body.created, id: again.body.phonecallId }).toEqual({
            source,
            how,
            status: 200,
            created: false,
            id: ids.get(source),
          });
        }
      }
      const stored = await w.calls();
      expect(stored.map((c) => c.source).sort()).toEqual([...sources].sort());
    });
  });

  describe("delete while other clients create calls in its range", () => {
    test("16 clients creating during 10 deletes: the counts add up to exactly the calls removed", async () => {
      const w = await world();
      const created = { n: 0 };
      let stop = false;
      const day = (n: number) => `2012-08-${String(24 + (n % 2)).padStart(2, "0")}`;
      // Calls on 24 and 25 August: inside the range of every delete.
      const client = async (c: number) => {
        // A bounded number, so that a failing test cannot leave clients running.
        for (let n = 0; (!stop || n < 3) && n < 3_000; n++) {
          const answer = await w.create({
            ...CALL,
            initiated: `${day(n)}T${String(c).padStart(2, "0")}:${String(Math.floor(n / 60) % 60).padStart(2, "0")}:${String(n % 60).padStart(2, "0")}`,
            source: `7${c}`,
          });
          expect(answer.status).toBe(200);
          if (answer.body.created === true) created.n++;
          // A client of its own between calls: a database answering at once (a libSQL file) would
          // otherwise keep the deletes from ever running.
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      };
      const clients = Array.from({ length: 16 }, (_, c) => client(c));
      const counts: number[] = [];
      for (let d = 0; d < 10; d++) {
        // Each delete only once the clients have created more calls, so every one has some to remove.
        const before = created.n;
        for (let waited = 0; created.n < before + 8 && waited < 5_000; waited += 2) await new Promise((resolve) => setTimeout(resolve, 2));
        const answer = await w.remove({ from: "2012-08-23", to: "2012-08-26" });
        expect(answer.status).toBe(200);
        counts.push(answer.body.count as number);
      }
      stop = true;
      await Promise.all(clients);
      const left = (await w.calls()).length;
      expect({ removed: counts.reduce((a, b) => a + b, 0), created: created.n }).toEqual({ removed: created.n - left, created: created.n });
      expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(8);
    });
  });
}
