// A synced contact row in Talkdesk's contact format: which columns feed which field.
// Defaults look for the usual field names of call-centre campaigns; a mapping file overrides them.
import * as v from "valibot";
import { MIN_SIGNIFICANT_DIGITS } from "../common/phone-numbers.ts";

/** A contact in Talkdesk's format: a name is required, everything else is left out when empty. */
export const TalkdeskContactSchema = v.object({
  id: v.string(),
  name: v.string(),
  company: v.optional(v.string()),
  title: v.optional(v.string()),
  emails: v.optional(v.array(v.string())),
  phones: v.optional(v.array(v.string())),
  photo_url: v.optional(v.string()),
  address: v.optional(v.string()),
  websites: v.optional(v.array(v.string())),
  twitter: v.optional(v.string()),
  url: v.optional(v.string()),
});
export type TalkdeskContact = v.InferOutput<typeof TalkdeskContactSchema>;

/** Column names per Talkdesk field; lists are joined (name, address) or collected (emails, phones). */
export interface ContactMapping {
  name: string[];
  company: string[];
  title: string[];
  emails: string[];
  phones: string[];
  photo_url: string[];
  address: string[];
  websites: string[];
  twitter: string[];
  /** A link to the contact elsewhere, `{id}` replaced by its id, e.g. `https://crm.example.com/c/{id}`. */
  url?: string;
}

const COLUMNS_EXPECTED = 'a column name or a list of column names, e.g. "Handy" or ["$phone", "Handy"]';

const columnList = v.pipe(
  v.union([v.string(), v.array(v.string())], `must be ${COLUMNS_EXPECTED}`),
  v.transform((value) => (Array.isArray(value) ? value : [value])),
);

/** A mapping file: any subset of the fields; a field given replaces its default. */
export const MappingFileSchema = v.strictObject({
  name: v.optional(columnList),
  company: v.optional(columnList),
  title: v.optional(columnList),
  emails: v.optional(columnList),
  phones: v.optional(columnList),
  photo_url: v.optional(columnList),
  address: v.optional(columnList),
  websites: v.optional(columnList),
  twitter: v.optional(columnList),
  url: v.optional(v.pipe(v.string("must be a link containing {id}"), v.includes("{id}", "must contain {id}"))),
});
export type MappingFile = v.InferOutput<typeof MappingFileSchema>;

/** A mapping file's content checked: the mapping, or a message naming the field at fault. */
export function checkMappingFile(value: unknown): { mapping: MappingFile } | { error: string } {
  if (Array.isArray(value)) return { error: "must be a JSON object, not a list" };
  if (typeof value !== "object" || value === null) return { error: `must be a JSON object like {"phones": ["$phone", "Handy"]}` };
  const known = Object.keys(MappingFileSchema.entries);
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown !== undefined) return { error: `unknown key "${unknown}"; the keys are ${known.join(", ")}` };
  const parsed = v.safeParse(MappingFileSchema, value);
  if (parsed.success) return { mapping: parsed.output };
  const issue = parsed.issues[0];
  const where = issue?.path?.map((p) => String(p.key)).join(".");
  return { error: `${where ? `${where}: ` : ""}${issue?.message ?? "invalid"}` };
}

/** Candidate names, tried in order, case-insensitively; the first group whose columns exist wins. */
const NAME_GROUPS = [
  ["name"],
  ["firstname", "lastname"],
  ["first_name", "last_name"],
  ["first name", "last name"],
  ["vorname", "nachname"],
  ["nombre", "apellido"],
  ["nombre", "apellidos"],
];
const SINGLE: Record<"company" | "title" | "photo_url" | "twitter", string[]> = {
  company: ["company", "company_name", "firma", "empresa", "organization", "organisation"],
  title: ["title", "job_title", "jobtitle", "position", "cargo"],
  photo_url: ["photo_url", "photo", "avatar"],
  twitter: ["twitter"],
};
const ADDRESS_PARTS = [
  ["street", "straße", "strasse", "address", "adresse", "direccion", "dirección"],
  ["zip", "zipcode", "postcode", "postal_code", "plz", "codigo_postal"],
  ["city", "ort", "stadt", "ciudad"],
  ["country", "land", "pais", "país"],
];
const EMAIL = /^e-?mail[\s_-]?\d*$|^correo/i;
const PHONE = /phone|mobil|handy|telef|^tel$|^tel[\s_-]|celular|movil|móvil/i;
const WEBSITE = /^(website|homepage|web|www)\d*$/i;

/** The mapping for a contacts table with these columns: defaults, then the file's fields. */
export function resolveMapping(columns: readonly string[], file: MappingFile = {}): ContactMapping {
  const byLower = new Map<string, string>();
  for (const column of columns) if (!byLower.has(column.toLowerCase())) byLower.set(column.toLowerCase(), column);
  const find = (names: readonly string[]) => names.map((n) => byLower.get(n.toLowerCase())).filter((c): c is string => c !== undefined);
  const first = (names: readonly string[]) => find(names).slice(0, 1);
  const custom = columns.filter((c) => !c.startsWith("$"));
  const defaults: ContactMapping = {
    name: NAME_GROUPS.map((group) => find(group)).find((found, i) => found.length === NAME_GROUPS[i]?.length) ?? [],
    company: first(SINGLE.company),
    title: first(SINGLE.title),
    emails: custom.filter((c) => EMAIL.test(c)),
    phones: ["$phone", ...custom.filter((c) => PHONE.test(c))].filter((c) => columns.includes(c)),
    photo_url: first(SINGLE.photo_url),
    address: ADDRESS_PARTS.flatMap((part) => first(part)),
    websites: custom.filter((c) => WEBSITE.test(c)),
    twitter: first(SINGLE.twitter),
  };
  return { ...defaults, ...file };
}

/** Every column a mapping reads, for the SELECT. */
export function mappedColumns(mapping: ContactMapping): string[] {
  const { url: _url, ...lists } = mapping;
  return [...new Set(["$id", ...Object.values(lists).flat()])];
}

const text = (value: unknown): string => {
  if (value === null || value === undefined) return "";
  return (typeof value === "string" ? value : String(value)).trim();
};

/**
 * A contact row as Talkdesk wants it. A contact without a name is named after its first phone
 * number (or its id), never dropped: Talkdesk requires a name and the caller still has to be found.
 */
export function toTalkdeskContact(row: Record<string, unknown>, mapping: ContactMapping): TalkdeskContact {
  const values = (columns: readonly string[]) => columns.map((c) => text(row[c])).filter((s) => s !== "");
  const one = (columns: readonly string[]) => values(columns)[0];
  const id = text(row.$id);
  // Only values with a number in them: a field named like a phone may hold "yes" or "mobile".
  const phones = [...new Set(values(mapping.phones).filter((value) => (value.match(/\d/g)?.length ?? 0) >= MIN_SIGNIFICANT_DIGITS))];
  const contact: TalkdeskContact = { id, name: values(mapping.name).join(" ") || phones[0] || `Contact ${id}` };
  const optional: [keyof TalkdeskContact, unknown][] = [
    ["company", one(mapping.company)],
    ["title", one(mapping.title)],
    ["emails", [...new Set(values(mapping.emails))]],
    ["phones", phones],
    ["photo_url", one(mapping.photo_url)],
    ["address", values(mapping.address).join(", ")],
    ["websites", [...new Set(values(mapping.websites))]],
    ["twitter", one(mapping.twitter)?.replace(/^@/, "")],
    ["url", mapping.url?.replaceAll("{id}", encodeURIComponent(id))],
  ];
  for (const [key, value] of optional) {
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) continue;
    (contact as unknown as Record<string, unknown>)[key] = value;
  }
  return contact;
}
