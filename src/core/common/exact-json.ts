// JSON.parse rounds integers beyond 2^53 and decimals beyond ~16 digits; dbsync2 kept the numbers of
// fetched contacts exactly. Such numbers are kept as their source text, wrapped by JSON.rawJSON where the
// runtime has it, so that JSON.stringify writes them back as the same number (webhook payloads);
// as a plain string elsewhere. All other numbers stay numbers.

type SourceContext = { source?: string };
type RawJsonApi = { rawJSON?: (text: string) => unknown; isRawJSON?: (value: unknown) => boolean };
const rawJsonApi = JSON as unknown as RawJsonApi;

export type RawJson = { readonly rawJSON: string };

export function isRawJson(value: unknown): value is RawJson {
  return rawJsonApi.isRawJSON?.(value) === true;
}

function exactNumber(this: unknown, _key: string, value: unknown, context?: SourceContext): unknown {
  if (typeof value !== "number" || context?.source === undefined) return value;
  const source = context.source;
  const exact = rawJsonApi.rawJSON ? () => rawJsonApi.rawJSON?.(source) : () => source;
  if (/^-?\d+$/.test(source)) return Number.isSafeInteger(value) ? value : exact();
  const digits = source.replace(/^-?0*|[.eE].*$/g, "").length + (source.split(/[eE]/)[0]?.split(".")[1]?.length ?? 0);
  return digits > 15 ? exact() : value;
}

/**
 * A number needs its source text only with more than 15 significant digits: 16 digits in a row,
 * perhaps with a decimal point among them, where a number can start (first, or after `:`, `,` or `[`). Text
 * without that parses to the same values plainly, ten times faster than with a reviver called for
 * every value; a string that merely looks so only costs the slow path.
 */
const LONG_NUMBER = /(^|[:,[])\s*-?\d[\d.]{15}/;
/** The same run anywhere: a much cheaper scan, enough to rule most texts out. */
const LONG_RUN = /\d[\d.]{15}/;

export function parseJsonExact(text: string): unknown {
  if (!LONG_RUN.test(text) || !LONG_NUMBER.test(text)) return JSON.parse(text);
  return JSON.parse(text, exactNumber as (key: string, value: unknown) => unknown);
}
