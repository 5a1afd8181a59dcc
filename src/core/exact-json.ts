// JSON.parse rounds integers beyond 2^53 and decimals beyond ~16 digits; dbsync2 kept numbers exactly
// (spec §2.2 E3). Such numbers are kept as their source text; all others stay numbers.

type SourceContext = { source?: string };

function exactNumber(this: unknown, _key: string, value: unknown, context?: SourceContext): unknown {
  if (typeof value !== "number" || context?.source === undefined) return value;
  const source = context.source;
  if (/^-?\d+$/.test(source)) return Number.isSafeInteger(value) ? value : source;
  const digits = source.replace(/^-?0*|[.eE].*$/g, "").length + (source.split(/[eE]/)[0]?.split(".")[1]?.length ?? 0);
  return digits > 15 ? source : value;
}

export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, exactNumber as (key: string, value: unknown) => unknown);
}
