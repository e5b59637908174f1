/**
 * A strict reader of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details): it throws,
 * naming the line, on anything a Prometheus server would refuse or misread: a bad metric or label
 * name, a bad escape, a value that is not a float, a family typed twice or after its samples, a
 * family's samples not together, a sample name its TYPE does not allow, a label set repeated, a
 * histogram whose buckets do not rise, lack `+Inf`, or disagree with `_count`.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`${where}: ${JSON.stringify(text)} is not a float`);
  return Number(text);
}

/** `{a="1",b="x\"y"}` from `start` (at the `{`): the labels and the index after the `}`. */
function parseLabels(line: string, start: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '}') return [labels, i + 1];
    const name = /^[^=\s]*/.exec(line.slice(i))![0];
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    i += name.length;
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`${where}: label ${name} must be followed by ="`);
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`${where}: label ${name}'s value is not closed`);
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${next ?? ''} in label ${name}`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++;
    while (line[i] === ' ') i++;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** The family a sample named `sample` belongs to, given its TYPE (histogram and summary samples carry suffixes). */
function familyOf(sample: string, types: Map<string, Family['type']>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const type = types.get(base);
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return sample;
}

export function parseExposition(text: string): Family[] {
  const families = new Map<string, Family>();
  const types = new Map<string, Family['type']>();
  const closed = new Set<string>();
  let current: string | undefined;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: types.get(name) ?? 'untyped', samples: [] }));
    return f;
  };
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a line feed');
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return; // any other comment
      const [, keyword, name, rest = ''] = match as unknown as [string, 'HELP' | 'TYPE', string, string?];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: bad type ${JSON.stringify(rest)}`);
        if (types.has(name)) throw new Error(`${where}: ${name} typed twice`);
        if (families.get(name)?.samples.length) throw new Error(`${where}: TYPE of ${name} after its samples`);
        types.set(name, rest.trim() as Family['type']);
        family(name).type = rest.trim() as Family['type'];
      } else {
        if (family(name).help !== undefined) throw new Error(`${where}: HELP of ${name} twice`);
        family(name).help = rest;
      }
      return;
    }
    const name = /^[^\s{]*/.exec(line)![0];
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
    let labels: Record<string, string> = {};
    let i = name.length;
    if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
    const fields = line.slice(i).trim().split(/\s+/);
    if (line[i] !== ' ' || fields.length < 1 || fields.length > 2 || fields[0] === '')
      throw new Error(`${where}: expected a value (and a timestamp) after ${name}`);
    const value = parseValue(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp ${fields[1]}`);
    const base = familyOf(name, types);
    if (current !== base) {
      if (closed.has(base)) throw new Error(`${where}: the samples of ${base} are not together`);
      if (current !== undefined) closed.add(current);
      current = base;
    }
    const f = family(base);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (f.samples.some((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}` === key))
      throw new Error(`${where}: ${name} with these labels twice`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return [...families.values()];
}

function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, samples] of series) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    if (!samples.some((s) => s.name === `${f.name}_sum`) || !count)
      throw new Error(`histogram ${f.name}${key}: no _sum or _count`);
    if (buckets.some((b) => b.labels.le === undefined))
      throw new Error(`histogram ${f.name}${key}: a bucket without le`);
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    if (!inf) throw new Error(`histogram ${f.name}${key}: no +Inf bucket`);
    if (inf.value !== count.value)
      throw new Error(`histogram ${f.name}${key}: +Inf bucket ${inf.value} but _count ${count.value}`);
    const sorted = [...buckets].sort((a, b) => parseValue(a.labels.le!, f.name) - parseValue(b.labels.le!, f.name));
    sorted.reduce((previous, b) => {
      if (b.value < previous)
        throw new Error(`histogram ${f.name}${key}: bucket le=${b.labels.le} below the one before`);
      return b.value;
    }, 0);
  }
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(families: readonly Family[], name: string, labels: Record<string, string> = {}): Sample[] {
  return families
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of those samples' values (0 when there are none). */
export function valueOf(families: readonly Family[], name: string, labels: Record<string, string> = {}): number {
  return samplesOf(families, name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** The metric families a PromQL expression reads (`_bucket`, `_sum`, `_count` name their histogram). */
export function metricFamiliesIn(expr: string): string[] {
  const names = expr.match(/\b(fleet|temporal|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, '')))];
}

/** Every PromQL expression of a Grafana dashboard: its panels' targets and its query variables. */
export function dashboardExpressions(dashboard: {
  panels: { targets?: { expr: string }[] }[];
  templating: { list: { type: string; query?: unknown }[] };
}): string[] {
  const panels = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const variables = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => (v.query as { query: string }).query);
  return [...panels, ...variables];
}
