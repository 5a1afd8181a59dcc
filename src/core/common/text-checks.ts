// Text from a request that no database would keep as it was sent: PostgreSQL drops NUL, every
// driver turns an unpaired surrogate into U+FFFD when it encodes UTF-8, and two such texts hash
// alike. A value stored other than it was sent breaks every comparison made with it later (a call's
// unique key, a position in the contacts), so such text is refused where it comes in.

const UNPAIRED_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;

/** What is wrong with `value` as the text of parameter `name`, for whoever sent it; undefined when nothing is. */
export function textFault(name: string, value: string): string | undefined {
  if (UNPAIRED_SURROGATE.test(value)) return `${name} is not well-formed Unicode text (it holds half of a surrogate pair)`;
  const control = CONTROL.exec(value)?.[0];
  if (control !== undefined) {
    const code = `U+${control.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}`;
    return `${name} holds a control character (${code}); send it without control characters, tabs or line breaks`;
  }
  return undefined;
}

/** Each parameter holding such text, with what is wrong with it; empty when none does. */
export function textFaults(params: Record<string, string | undefined>): Record<string, string> {
  const faults: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const fault = value === undefined ? undefined : textFault(key, value);
    if (fault) faults[key] = fault;
  }
  return faults;
}
