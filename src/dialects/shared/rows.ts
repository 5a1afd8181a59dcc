// Rows come from every driver as arrays with a list of column names: the objects made of them here
// have own properties (Object.fromEntries defines them), so even a column named "__proto__" comes back
// as one, where a driver building objects by assignment would lose it.

export function rowObjects<T>(
  columns: readonly string[],
  rows: readonly ArrayLike<unknown>[],
  value: (cell: unknown) => unknown = (cell) => cell,
): T[] {
  return rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, value(row[i])])) as T);
}
