// The campaign form (the field list) and the values its custom fields take. The names are chosen to trip up
// naive SQL: spaces, quotes, unicode, reserved words and a name longer than MySQL's 64-character
// identifier limit; no two names differ only by letter case.
import type { CampaignField } from "../core/sync/tables.ts";
import type { Random } from "./random.ts";

/** An element of the campaign's field list; `state` is sent but its meaning is unknown. */
export type FieldElement = CampaignField & { state: string };

export interface CustomField {
  element: FieldElement;
  /** A plausible value for a contact; `undefined` leaves the field off the contact. */
  value(random: Random): unknown;
}

export const LONG_FIELD_NAME = "a_very_long_custom_field_name_that_goes_beyond_the_sixty_four_character_limit";

const FIRST_NAMES = ["Erika", "Max", "Jürgen", "Zoë", "Łukasz", "O'Neil", "Anna-Lena", "José", "Chloé", "李", "Noah"];
const LAST_NAMES = ["Mustermann", "Müller", "Schmidt", "D'Angelo", "Nguyễn", "Øvergaard", "García", "van der Berg", "王"];
const CITIES = ["Berlin", "München", "Köln", "Zürich", "Wien", "Hamburg", ""];
const NOTES = [
  "Prefers calls in the morning",
  "Asked about the premium plan 🚀",
  'Said "call me later"',
  "Line 1\nLine 2\tindented",
  "Kunde wünscht Rückruf 📞👍",
  "50% discount requested; 'special' offer",
];
const INJECTIONS = ["SELECT * FROM contacts; --", "Robert'); DROP TABLE students;--", "1 OR 1=1", "`backtick`", ""];

/** Text longer than the 2000 characters some columns or drivers choke on. */
function longText(random: Random): string {
  const words = ["lorem", "ipsum", "dolor", "sit", "amet", "Straße", "😀", "naïve", 'quote"s', "it's"];
  let out = "";
  while (out.length < 2100 + random.int(0, 900)) out += `${random.pick(words)} `;
  return out.trimEnd();
}

/** Sometimes an empty string, sometimes null, otherwise the real value. */
function sometimesBlank(random: Random, value: () => unknown, emptyShare = 0.1, nullShare = 0.05): unknown {
  const roll = random.next();
  if (roll < nullShare) return null;
  if (roll < nullShare + emptyShare) return "";
  return value();
}

function field(name: string, fieldType: string, value: CustomField["value"], extra: Partial<FieldElement> = {}): CustomField {
  return { element: { type: "field", fieldType, name, state: "", deleted: false, ...extra }, value };
}

function isoDay(random: Random, fromYear: number, toYear: number): string {
  const y = random.int(fromYear, toYear);
  const m = String(random.int(1, 12)).padStart(2, "0");
  const d = String(random.int(1, 28)).padStart(2, "0");
  return `${y}-${m}-${d}`;
}

export function standardFields(): CustomField[] {
  return [
    field("firstname", "text", (r) => sometimesBlank(r, () => r.pick(FIRST_NAMES), 0.03, 0.01)),
    field("lastname", "text", (r) => sometimesBlank(r, () => r.pick(LAST_NAMES), 0.03, 0.01)),
    field("customer_no", "number", (r) => (r.chance(0.05) ? null : r.int(10000, 999999))),
    field("amount", "number", (r) => (r.chance(0.05) ? null : r.chance(0.3) ? r.int(0, 500) : r.int(0, 999999) / 100)),
    field("notes", "textarea", (r) => (r.chance(0.01) ? longText(r) : sometimesBlank(r, () => r.pick(NOTES), 0.4))),
    { element: { type: "label", fieldType: "", name: "section_1", state: "", deleted: false }, value: () => undefined },
    field("opt_in", "checkbox", (r) => (r.chance(0.05) ? "" : r.chance(0.6) ? "true" : "false")),
    field("segment", "dropdown", (r) => r.pick(["A", "B", "C", "premium", ""])),
    field("birthday", "date", (r) => sometimesBlank(r, () => isoDay(r, 1940, 2005), 0.3)),
    field("mobile", "phone", (r) => sometimesBlank(r, () => `+49151${r.digits(8)}`, 0.3)),
    field("callback_at", "calendar", (r) => (r.chance(0.8) ? "" : `${isoDay(r, 2024, 2025)}T10:00:00.000Z`)),
    field("salutation", "radiogroup", (r) => r.pick(["Herr", "Frau", "Divers", ""])),
    field("city", "autocomplete", (r) => r.pick(CITIES)),
    field("first name", "text", (r) => sometimesBlank(r, () => r.pick(FIRST_NAMES))),
    field('quote"d', "text", (r) => r.pick(['She said "yes"', '27" monitor', "plain", ""])),
    field("it's", "text", (r) => r.pick(["it's fine", "O'Brien's", "''", ""])),
    field("straße", "text", (r) => r.pick(["Hauptstraße 5", "Königsallee 12", "Rue de l'Église 3", ""])),
    field("名前", "text", (r) => r.pick(["山田太郎", "佐藤花子", "", "Ünïcödé 🎉"])),
    field("select", "text", (r) => r.pick(INJECTIONS)),
    field("order", "number", (r) => (r.chance(0.1) ? null : r.int(1, 100))),
    field("group", "dropdown", (r) => r.pick(["g1", "g2", "g3"])),
    field(LONG_FIELD_NAME, "text", (r) => r.pick(["long name, short value", ""])),
    // A field removed from the form: contacts may still carry old values (the client must skip it).
    field("old_segment", "dropdown", (r) => (r.chance(0.3) ? r.pick(["X", "Y"]) : undefined), { deleted: true }),
  ];
}

const ADDED_FIELD_TYPES = ["text", "number", "checkbox", "dropdown", "textarea"] as const;

/** A field added to the form while the simulator runs (a tick does this now and then). */
export function addedField(random: Random, sequence: number): CustomField {
  const fieldType = random.pick(ADDED_FIELD_TYPES);
  const value = (r: Random): unknown => {
    switch (fieldType) {
      case "number":
        return r.int(0, 1000);
      case "checkbox":
        return r.chance(0.5) ? "true" : "false";
      case "dropdown":
        return r.pick(["low", "mid", "high"]);
      default:
        return r.pick(["new value", "später 😊", 'with "quotes"']);
    }
  };
  return field(`added_field_${sequence}`, fieldType, value);
}
