// The column types dbsync gives MySQL tables, and the ones it finds too narrow in tables of others.
import { contactsMd5Index, type LogicalType } from "../../core/sync/tables.ts";

/**
 * Long values stored whole: strings are `longtext` (up to 4 GB) in utf8mb4, so emoji fit; numbers
 * `decimal(65,10)`, which keeps 55 integer digits and 10 decimals exactly (the original's `numeric`
 * is `decimal(10,0)` and rounds away every decimal).
 */
export const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "longtext CHARACTER SET utf8mb4",
  string: "longtext CHARACTER SET utf8mb4",
  text: "longtext CHARACTER SET utf8mb4",
  int: "decimal(65,10)",
  bool: "boolean",
};
/**
 * Key and index columns need a length. Binary collation: ids compare exactly (with a `_ci` collation
 * `abc` and `ABC` would be one row).
 */
export const KEY_TYPE = "varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
/** Contacts' columns of the `$id|$md5` index: they have the key type too. */
export const INDEXED_CONTACT_COLUMNS = new Set(contactsMd5Index("").columns);
/** The text types below longtext, which may cut a long value. */
export const TEXT_TYPES = ["tinytext", "text", "mediumtext", "longtext"];
