// Phone numbers as people and PBXs write them ("+49 30 1234567", "0049301234567", "030/1234567")
// compared by their digits: the phonecalls service finds a call's contact by its destination.

/** Digits only, without an international prefix (`+` or `00`); "" when nothing is left. */
export function normalisePhone(raw: string): string {
  // "+49 (0)30 …": the trunk zero in brackets is dialled only from within the country.
  const trimmed = raw.trim().replace(/\(0\)/g, "");
  const digits = trimmed.replace(/\D/g, "");
  if (trimmed.startsWith("+")) return digits;
  return digits.startsWith("00") ? digits.slice(2) : digits;
}

/** Numbers shorter than this are extensions or service codes, never a contact's number. */
export const MIN_SIGNIFICANT_DIGITS = 7;
/** E.164 numbers have at most 15 digits; longer runs of digits are no phone number. */
export const MAX_DIGITS = 20;

/** The phone numbers a field holds ("089 7654321 / 0171 7654321" is two), normalised; junk left out. */
export function phoneNumbersIn(raw: string): string[] {
  // "030/1234567" is one number (area code/number); split only where every part is a whole number.
  const parts = raw.split(/[/,;|]|\bor\b|\boder\b/).map(normalisePhone);
  const numbers = parts.every((n) => n.length >= MIN_SIGNIFICANT_DIGITS) ? parts : [normalisePhone(raw)];
  return numbers.filter((n) => n.length >= MIN_SIGNIFICANT_DIGITS && n.length <= MAX_DIGITS);
}

/** The lookup key of a normalised number: its last digits, so that "030…" finds "+4930…". */
export function phoneTail(normalised: string): string {
  return normalised.slice(-MIN_SIGNIFICANT_DIGITS);
}

/**
 * Whether two normalised numbers are the same line: equal, or the national form of one (without its
 * trunk zeros) ends the international form of the other, e.g. "02122853348" and "582122853348".
 */
export function samePhone(a: string, b: string): boolean {
  if (a === "" || b === "") return false;
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const national = short.replace(/^0+/, "");
  return national.length >= MIN_SIGNIFICANT_DIGITS && long.endsWith(national);
}
