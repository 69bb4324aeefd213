// A strict reader of Prometheus' text exposition format 0.0.4, written for
// the tests from the format's description (not from our renderer): it throws
// on anything a Prometheus server would reject or that the format forbids.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export type Series = { name: string; labels: Record<string, string>; value: number };

export type Exposition = {
  types: Map<string, MetricType>;
  help: Map<string, string>;
  series: Series[];
  /** The value of one series; labels must match exactly. */
  value: (name: string, labels?: Record<string, string>) => number;
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Go's strconv.ParseFloat as the Prometheus parser uses it. */
function parseValue(text: string, where: string): number {
  if (/^[+-]?inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new Error(`${where}: bad value \`${text}\``);
  }
  return Number(text);
}

function unescape(text: string, allowQuote: boolean, where: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && allowQuote) return '"';
    throw new Error(`${where}: bad escape \\${c}`);
  });
}

/** `{a="x",b="y"}` from position 0 of `text`; returns the labels and the rest. */
function parseLabels(text: string, where: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  for (;;) {
    if (rest.startsWith('}')) return [labels, rest.slice(1)];
    const m = rest.match(/^([^=]+)="((?:[^"\\\n]|\\.)*)"(,?)/);
    if (!m) throw new Error(`${where}: bad label set`);
    const name = m[1]!;
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name \`${name}\``);
    if (name in labels) throw new Error(`${where}: label \`${name}\` twice`);
    labels[name] = unescape(m[2]!, true, where);
    rest = rest.slice(m[0].length);
    if (m[3] === '' && !rest.startsWith('}')) throw new Error(`${where}: missing comma`);
  }
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, types: Map<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && (types.get(base) === 'histogram' || types.get(base) === 'summary'))
      return base;
  }
  return name;
}

export function parsePrometheus(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the last line must end with \\n');
  const types = new Map<string, MetricType>();
  const help = new Map<string, string>();
  const series: Series[] = [];
  const seenKeys = new Set<string>();
  const done = new Set<string>(); // families whose samples are over
  let current: string | undefined;
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === '') return;
    const meta = line.match(/^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!METRIC_NAME.test(name!)) throw new Error(`${where}: bad metric name`);
      if (kind === 'HELP') {
        if (help.has(name!)) throw new Error(`${where}: second HELP for ${name}`);
        help.set(name!, unescape(rest, false, where));
      } else {
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: bad type \`${rest}\``);
        if (types.has(name!)) throw new Error(`${where}: second TYPE for ${name}`);
        if (series.some((s) => familyOf(s.name, types) === name)) {
          throw new Error(`${where}: TYPE for ${name} after its samples`);
        }
        types.set(name!, rest.trim() as MetricType);
      }
      return;
    }
    if (line.startsWith('#')) return; // a comment
    const nameMatch = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/);
    if (!nameMatch) throw new Error(`${where}: no metric name in \`${line}\``);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, where);
    const fields = rest.trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(rest) || fields.length < 1 || fields.length > 2) {
      throw new Error(`${where}: expected a value (and a timestamp) in \`${line}\``);
    }
    const value = parseValue(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) {
      throw new Error(`${where}: bad timestamp`);
    }
    const family = familyOf(name, types);
    if (family !== current) {
      if (done.has(family)) throw new Error(`${where}: samples of ${family} are not together`);
      if (current !== undefined) done.add(current);
      current = family;
    }
    const key = `${name}{${Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seenKeys.has(key)) throw new Error(`${where}: series ${key} twice`);
    seenKeys.add(key);
    const type = types.get(family) ?? 'untyped';
    if (type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} < 0`);
    if (type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) {
      throw new Error(`${where}: bucket without le`);
    }
    series.push({ name, labels, value });
  });
  checkHistograms(types, series);
  const value = (name: string, labels: Record<string, string> = {}) => {
    const want = JSON.stringify(Object.entries(labels).sort());
    const found = series.filter(
      (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want,
    );
    if (found.length !== 1) throw new Error(`no single series ${name} ${want}`);
    return found[0]!.value;
  };
  return { types, help, series, value };
}

/** Buckets cumulative and ordered by le, +Inf present and equal to _count, a _sum. */
function checkHistograms(types: Map<string, MetricType>, series: Series[]): void {
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    const buckets = series
      .filter((s) => s.name === `${name}_bucket`)
      .map((s) => ({ le: parseValue(s.labels.le!, name), n: s.value }));
    if (buckets.length === 0) throw new Error(`histogram ${name} has no buckets`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]!.le > buckets[i - 1]!.le)) throw new Error(`${name}: le not increasing`);
      if (buckets[i]!.n < buckets[i - 1]!.n) throw new Error(`${name}: buckets not cumulative`);
    }
    const inf = buckets[buckets.length - 1]!;
    if (inf.le !== Infinity) throw new Error(`${name}: no +Inf bucket`);
    const count = series.find((s) => s.name === `${name}_count`);
    const sum = series.find((s) => s.name === `${name}_sum`);
    if (!count || !sum) throw new Error(`${name}: no _count or _sum`);
    if (count.value !== inf.n) throw new Error(`${name}: _count is not the +Inf bucket`);
  }
}
