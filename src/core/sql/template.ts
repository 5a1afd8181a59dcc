// SQL written once for every database: names are quoted and parameters numbered by the dialect the
// statement is rendered for, so no caller counts placeholders or joins `IN (…)` lists by hand, and no
// value is ever spliced into the text.
import type { SqlValue } from "../sync/tables.ts";

/** What rendering needs of a dialect: how it quotes a name and writes the n-th placeholder. */
export interface SqlSyntax {
  quote(identifier: string): string;
  /** The placeholder for the n-th parameter of a statement, n counted from 1. */
  placeholder(n: number): string;
}

type Piece = { kind: "text"; text: string } | { kind: "name"; name: string } | { kind: "value"; value: SqlValue };

/** A piece of a statement: text, quoted names and bound values, rendered per dialect. */
export class SqlFragment {
  readonly #pieces: readonly Piece[];

  constructor(pieces: readonly Piece[]) {
    this.#pieces = pieces;
  }

  get pieces(): readonly Piece[] {
    return this.#pieces;
  }

  /** The statement's text for `syntax` and its parameters in order, ready to spread into `run`/`all`. */
  render(syntax: SqlSyntax): [text: string, params: SqlValue[]] {
    const params: SqlValue[] = [];
    let text = "";
    for (const piece of this.#pieces) {
      if (piece.kind === "text") text += piece.text;
      else if (piece.kind === "name") text += syntax.quote(piece.name);
      else {
        params.push(piece.value);
        text += syntax.placeholder(params.length);
      }
    }
    return [text, params];
  }
}

/**
 * A statement: each `${value}` becomes a bound parameter, each `${fragment}` (from `sql`, `name`,
 * `names`, `values`, `join`, `raw`) is inserted as it is.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly (SqlValue | SqlFragment)[]): SqlFragment {
  const pieces: Piece[] = [];
  strings.forEach((text, i) => {
    if (text) pieces.push({ kind: "text", text });
    if (i < values.length) {
      const value = values[i] as SqlValue | SqlFragment;
      if (value instanceof SqlFragment) pieces.push(...value.pieces);
      else pieces.push({ kind: "value", value });
    }
  });
  return new SqlFragment(pieces);
}

/** A table, column or index name, quoted by the dialect. */
export function name(identifier: string): SqlFragment {
  return new SqlFragment([{ kind: "name", name: identifier }]);
}

/** Names separated by commas, each quoted: a column list. */
export function names(identifiers: readonly string[]): SqlFragment {
  return join(identifiers.map(name));
}

/** Values separated by commas, each a bound parameter: the inside of `IN (…)` or of `VALUES (…)`. */
export function values(list: readonly SqlValue[]): SqlFragment {
  return new SqlFragment(
    list.flatMap((value, i): Piece[] =>
      i === 0
        ? [{ kind: "value", value }]
        : [
            { kind: "text", text: ", " },
            { kind: "value", value },
          ],
    ),
  );
}

/** Fragments separated by `separator`. */
export function join(fragments: readonly SqlFragment[], separator = ", "): SqlFragment {
  return new SqlFragment(
    fragments.flatMap((fragment, i) => (i === 0 ? fragment.pieces : [{ kind: "text" as const, text: separator }, ...fragment.pieces])),
  );
}

/** Text the dialect itself wrote (a `LIMIT` clause, a column type): never a value from outside. */
export function raw(text: string): SqlFragment {
  return new SqlFragment([{ kind: "text", text }]);
}
