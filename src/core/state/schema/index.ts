// The tables of each family, by the family's name.
import type { StateFamily, StateTables } from "../db.ts";
import * as mysqlTables from "./mysql.ts";
import * as pgTables from "./pg.ts";
import * as sqliteTables from "./sqlite.ts";

const TABLES: Record<StateFamily, StateTables> = { sqlite: sqliteTables, postgres: pgTables, mysql: mysqlTables };

export function tablesOf(family: StateFamily): StateTables {
  return TABLES[family];
}
