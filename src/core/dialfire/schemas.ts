// The shapes the sync relies on, checked where API answers enter the program. Everything else in
// an object is kept as it came (loose objects), because the target stores whatever columns exist.
import * as v from "valibot";

const idString = v.pipe(
  v.union([v.string(), v.number()]),
  v.transform((value) => String(value)),
  v.minLength(1, "an empty id"),
);

export const FieldListSchema = v.array(
  v.looseObject({
    type: v.optional(v.string(), ""),
    fieldType: v.optional(v.nullable(v.string()), ""),
    name: v.string(),
    deleted: v.optional(v.boolean(), false),
  }),
);

const page = <T extends v.GenericSchema>(item: T) =>
  v.looseObject({
    count: v.optional(v.number()),
    results: v.nullish(v.array(item), []),
    cursor: v.nullish(v.string(), ""),
  });

export const ContactListPageSchema = page(v.looseObject({ id: idString, md5: v.nullish(v.string(), "") }));

export const EventPageSchema = page(v.string());

export const InboundCallPageSchema = page(v.looseObject({ id: idString }));

export const ContactsSchema = v.array(
  v.looseObject({
    $id: idString,
    $md5: v.nullish(v.string(), ""),
    $task_log: v.nullish(v.array(v.looseObject({ transactions: v.nullish(v.array(v.looseObject({}))) }))),
  }),
);

/** A one-line description of what was wrong, for error messages. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return "unexpected shape";
  const path = first.path?.map((p) => String(p.key)).join(".") ?? "";
  return path ? `${path}: ${first.message}` : first.message;
}
