// A strict reader of the Prometheus text exposition format (version 0.0.4), for the tests of
// /metrics: every line must be a HELP, TYPE or sample line of the grammar; a family's samples stand
// together after its TYPE; no series twice; a histogram's buckets rise to +Inf, which equals its
// _count; counters are not negative. Anything else throws, naming the line.

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<MetricType, string[]> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a line feed");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split("\n");
  for (const [index, line] of lines.entries()) {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = "", rest = ""] = meta;
      if (!NAME.test(name)) fail("bad metric name");
      let family = families.get(name);
      if (family !== current && closed.has(name)) fail("the family appears twice");
      if (!family) {
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
      }
      if (current && current !== family) closed.add(current.name);
      current = family;
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) fail("unknown type");
        if (family.samples.length > 0 || family.type !== "untyped") fail("TYPE after samples or twice");
        family.type = rest as MetricType;
      } else {
        if (family.help) fail("HELP twice");
        family.help = rest.replaceAll("\\n", "\n").replaceAll("\\\\", "\\");
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = parseSample(line, fail);
    const family = current && SUFFIXES[current.type].some((suffix) => `${current?.name}${suffix}` === sample.name) ? current : undefined;
    if (!family) fail("a sample outside its family (no TYPE line before it, or another family in between)");
    (family as Family).samples.push(sample);
  }
  for (const family of families.values()) check(family);
  return families;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line) ?? fail("bad sample name");
  const name = head[1] as string;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (head[2]) {
    at++;
    while (line[at] !== "}") {
      const labelName = /^[^=]*/.exec(line.slice(at))?.[0] ?? "";
      if (!LABEL_NAME.test(labelName)) fail("bad label name");
      if (labelName in labels) fail("a label twice");
      at += labelName.length;
      if (line.slice(at, at + 2) !== '="') fail('a label without ="');
      at += 2;
      let value = "";
      for (;;) {
        const char = line[at++];
        if (char === undefined) fail("an unterminated label value");
        if (char === '"') break;
        if (char === "\\") {
          const escaped = line[at++];
          if (escaped === "n") value += "\n";
          else if (escaped === "\\" || escaped === '"') value += escaped;
          else fail("a bad escape in a label value");
        } else value += char;
      }
      labels[labelName] = value;
      if (line[at] === ",") at++;
      else if (line[at] !== "}") fail("labels not separated by commas");
    }
    at++;
  }
  const rest = line.slice(at);
  const parts = /^ (\S+)(?: (-?\d+))?$/.exec(rest) ?? fail("no value after the name and labels");
  return { name, labels, value: parseValue(parts[1] as string) ?? fail("not a number") };
}

/**
 * A value as Go's ParseFloat reads it, which the format names: decimal or exponent notation, and
 * NaN, Inf and Infinity in any case (prom-client writes `Nan`).
 */
function parseValue(raw: string): number | undefined {
  if (/^nan$/i.test(raw)) return Number.NaN;
  const infinite = /^([-+]?)inf(inity)?$/i.exec(raw);
  if (infinite) return infinite[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : undefined;
}

function check(family: Family): void {
  const seen = new Set<string>();
  for (const sample of family.samples) {
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`${family.name}: the series ${key} appears twice`);
    seen.add(key);
    if (family.type === "counter" && !(sample.value >= 0)) throw new Error(`${family.name}: a counter below 0`);
  }
  if (family.type !== "histogram") return;
  const series = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    if (sample.name.endsWith("_bucket") && le === undefined) throw new Error(`${family.name}: a bucket without le`);
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const [key, samples] of series) {
    const buckets = samples.filter((s) => s.name.endsWith("_bucket"));
    const count = samples.find((s) => s.name.endsWith("_count"));
    if (!samples.some((s) => s.name.endsWith("_sum")) || !count) throw new Error(`${family.name}${key}: no _sum or _count`);
    const bounds = buckets.map((s) => parseValue(s.labels.le ?? "") ?? Number.NaN);
    if (bounds.at(-1) !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: the last bucket is not +Inf`);
    for (let i = 1; i < buckets.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number)) || (buckets[i] as Sample).value < (buckets[i - 1] as Sample).value) {
        throw new Error(`${family.name}${key}: buckets not rising`);
      }
    }
    if (buckets.at(-1)?.value !== count.value) throw new Error(`${family.name}${key}: the +Inf bucket differs from _count`);
  }
}

/** The samples of a family with these labels (a subset of theirs). */
export function samplesOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  const family = families.get(name);
  if (!family) return [];
  return family.samples.filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

/** The sum of a family's samples named `name` with these labels (a counter across its other labels). */
export function total(families: Map<string, Family>, family: string, labels: Record<string, string> = {}, name = family): number {
  return samplesOf(families, family, labels)
    .filter((sample) => sample.name === name)
    .reduce((sum, sample) => sum + sample.value, 0);
}
