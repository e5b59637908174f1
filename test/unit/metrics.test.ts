/**
 * The pure parts of the metrics (domain/metrics.ts): bounded labels and what a task's change
 * observes; FLEET_WORKER_METRICS_PORT; and the strict exposition reader the integration tests use
 * (test/helpers/prometheus.ts), against prom-client's own output and broken input; the Grafana dashboard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { loadConfig } from '../../domain/config';
import {
  deviceRequestLabel,
  ErrorCodeLabels,
  MAX_DEVICE_ERROR_CODES,
  METRIC,
  observeTaskChange,
  type TaskClock,
} from '../../domain/metrics';
import { dashboardExpressions, metricFamiliesIn, parseExposition, valueOf } from '../helpers/prometheus';

describe('device request labels', () => {
  test.each([
    ['GET', '/devices/S12AB00000001', 'GET /devices/{serial}'],
    ['POST', '/devices/S12AB00000001/install', 'POST /devices/{serial}/install'],
    ['GET', '/devices/S12A%2FB/jobs/job-7f3a', 'GET /devices/{serial}/jobs/{job_id}'],
    ['POST', '/devices/S1/jobs/j1/cancel', 'POST /devices/{serial}/jobs/{job_id}/cancel'],
    ['GET', '/devices?offset=0&limit=1000&product_code=SH', 'GET /devices'],
    ['GET', '/collectors/100000001/jobs/abc', 'GET /collectors/{collector_id}/jobs/{job_id}'],
    ['POST', '/collectors/100000001/upgrade', 'POST /collectors/{collector_id}/upgrade'],
    ['GET', '/admin/devices/S1/counters', 'GET /admin/devices/{serial}/counters'],
    ['GET', '/collectors?limit=10000', 'GET /collectors'],
  ])('%s %s is %s', (method, path, label) => {
    expect(deviceRequestLabel(method, path)).toBe(label);
  });
});

describe('device error code labels', () => {
  test('codes in the device API form are kept, others are other', () => {
    const codes = new ErrorCodeLabels();
    for (const code of ['install.esxi_conflict', 'device.busy', 'http_503', 'timeout', 'network', 'bad_response'])
      expect(codes.label(code)).toBe(code);
    for (const code of ['S12AB00000001', 'device busy', 'Device.Busy', '', 'a.b.c.d.e', 'x'.repeat(40)])
      expect(codes.label(code)).toBe('other');
  });

  test('past the limit, new codes are other and known ones stay', () => {
    const codes = new ErrorCodeLabels();
    for (let i = 0; i < MAX_DEVICE_ERROR_CODES; i++) expect(codes.label(`code_${i}`)).toBe(`code_${i}`);
    expect(codes.label('one.more')).toBe('other');
    expect(codes.label('code_0')).toBe('code_0');
  });
});

describe('observeTaskChange', () => {
  const t0 = 1_700_000_000_000;

  test('a task through its stages: started, each stage timed, finished with its duration', () => {
    let seen = observeTaskChange(undefined, { status: 'running', stage: 'initiating' }, t0);
    expect(seen).toEqual({ started: true, clock: { stage: 'initiating', stageSinceMs: t0, startedMs: t0 } });
    seen = observeTaskChange(seen.clock, { status: 'running', stage: 'downloading' }, t0 + 1_500);
    expect(seen.started).toBe(false);
    expect(seen.stageEnded).toEqual({ stage: 'initiating', seconds: 1.5 });
    seen = observeTaskChange(seen.clock, { status: 'running', stage: 'installing' }, t0 + 11_500);
    expect(seen.stageEnded).toEqual({ stage: 'downloading', seconds: 10 });
    seen = observeTaskChange(seen.clock, { status: 'successful', stage: 'completed' }, t0 + 20_000);
    expect(seen).toEqual({
      started: false,
      stageEnded: { stage: 'installing', seconds: 8.5 },
      finished: { outcome: 'successful', seconds: 20 },
      clock: undefined,
    });
  });

  test('a change that is not of the stage (a log line, the same stage again) observes nothing', () => {
    const clock: TaskClock = { stage: 'downloading', stageSinceMs: t0, startedMs: t0 };
    expect(observeTaskChange(clock, {}, t0 + 5_000)).toEqual({ started: false, clock });
    expect(observeTaskChange(clock, { status: 'running', stage: 'downloading' }, t0 + 5_000)).toEqual({
      started: false,
      clock,
    });
  });

  test('a failure ends the stage it failed in', () => {
    const seen = observeTaskChange(
      { stage: 'installing', stageSinceMs: t0 + 2_000, startedMs: t0 },
      { status: 'failed', stage: 'failed' },
      t0 + 7_000,
    );
    expect(seen.stageEnded).toEqual({ stage: 'installing', seconds: 5 });
    expect(seen.finished).toEqual({ outcome: 'failed', seconds: 7 });
  });

  test('a task this worker did not see start: its duration from the recorded start, no stage duration', () => {
    const seen = observeTaskChange(undefined, { status: 'failed', stage: 'failed' }, t0 + 30_000, t0);
    expect(seen).toEqual({ started: false, finished: { outcome: 'failed', seconds: 30 }, clock: undefined });
    const mid = observeTaskChange(undefined, { status: 'running', stage: 'installing' }, t0 + 10_000, t0);
    expect(mid).toEqual({ started: false, clock: { stage: 'installing', stageSinceMs: t0 + 10_000, startedMs: t0 } });
  });

  test('a task cancelled before it started is finished, without a duration', () => {
    expect(observeTaskChange(undefined, { status: 'cancelled', stage: 'cancelled' }, t0)).toEqual({
      started: false,
      finished: { outcome: 'cancelled' },
      clock: undefined,
    });
  });
});

describe('FLEET_WORKER_METRICS_PORT', () => {
  test('unset or empty: no metrics; 0: a port the system picks; else that port; never out of range', () => {
    expect(loadConfig({}).FLEET_WORKER_METRICS_PORT).toBeUndefined();
    expect(loadConfig({ FLEET_WORKER_METRICS_PORT: '' }).FLEET_WORKER_METRICS_PORT).toBeUndefined();
    expect(loadConfig({ FLEET_WORKER_METRICS_PORT: '0' }).FLEET_WORKER_METRICS_PORT).toBe(0);
    expect(loadConfig({ FLEET_WORKER_METRICS_PORT: '9464' }).FLEET_WORKER_METRICS_PORT).toBe(9464);
    expect(loadConfig({}).FLEET_WORKER_METRICS_HOST).toBe('127.0.0.1');
    expect(() => loadConfig({ FLEET_WORKER_METRICS_PORT: '70000' })).toThrow(/FLEET_WORKER_METRICS_PORT/);
    expect(() => loadConfig({ FLEET_WORKER_METRICS_PORT: 'nine' })).toThrow(/FLEET_WORKER_METRICS_PORT/);
  });
});

describe('the exposition reader', () => {
  test("reads prom-client's exposition: counters, labels with escapes, histograms", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'x_total', help: 'a counter', labelNames: ['code'], registers: [registry] });
    counter.inc({ code: 'a"b\\c\nd' }, 2);
    counter.inc({ code: 'plain' });
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'a histogram',
      labelNames: ['stage'],
      buckets: [1, 5],
      registers: [registry],
    });
    histogram.observe({ stage: 'installing' }, 0.5);
    histogram.observe({ stage: 'installing' }, 3);
    histogram.observe({ stage: 'installing' }, 9);
    const families = parseExposition(await registry.metrics());
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['x_total', 'counter'],
      ['h_seconds', 'histogram'],
    ]);
    expect(valueOf(families, 'x_total', { code: 'a"b\\c\nd' })).toBe(2);
    expect(valueOf(families, 'x_total')).toBe(3);
    expect(valueOf(families, 'h_seconds_bucket', { stage: 'installing', le: '5' })).toBe(2);
    expect(valueOf(families, 'h_seconds_count', { stage: 'installing' })).toBe(3);
    expect(valueOf(families, 'h_seconds_sum', { stage: 'installing' })).toBe(12.5);
  });

  test.each([
    ['a bad metric name', '1abc 1\n', /bad metric name/],
    ['a value that is not a float', 'a 1,5\n', /not a float/],
    ['an unclosed label value', 'a{b="c} 1\n', /not closed/],
    ['a bad escape', 'a{b="\\t"} 1\n', /bad escape/],
    ['a bad label name', 'a{0b="c"} 1\n', /bad label name/],
    ['a family typed twice', '# TYPE a counter\n# TYPE a gauge\na 1\n', /typed twice/],
    ['a TYPE after the samples', 'a 1\n# TYPE a counter\n', /after its samples/],
    ['a family split', 'a 1\nb 1\na{x="1"} 2\n', /not together/],
    ['a repeated series', 'a{x="1"} 1\na{x="1"} 2\n', /twice/],
    [
      'a histogram bucket without le',
      '# TYPE h histogram\nh_bucket 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      /without le/,
    ],
    ['a bad type', '# TYPE a countr\na 1\n', /bad type/],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf/],
    [
      'a histogram whose +Inf disagrees with _count',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
      /_count/,
    ],
    [
      'a histogram whose buckets fall',
      '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
      /below/,
    ],
    ['no final line feed', 'a 1', /line feed/],
    ['garbage', 'this is not an exposition\n', /value/],
  ])('refuses %s', (_what, text, error) => {
    expect(() => parseExposition(text)).toThrow(error);
  });
});

describe('the Grafana dashboard (docs/grafana-dashboard.json)', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '../../docs/grafana-dashboard.json'), 'utf8'));
  const panels: {
    id: number;
    type: string;
    title: string;
    datasource?: unknown;
    gridPos: { x: number; y: number; w: number; h: number };
    targets?: { expr: string; refId: string }[];
  }[] = dashboard.panels;

  test('panels have unique ids, a Prometheus query each, and do not overlap on the 24-column grid', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const charts = panels.filter((p) => p.type !== 'row');
    expect(charts.length).toBeGreaterThanOrEqual(10);
    for (const p of charts) {
      expect([p.title, p.datasource]).toEqual([p.title, { type: 'prometheus', uid: '${datasource}' }]);
      expect(p.targets?.length).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    const cells = new Set<string>();
    for (const p of panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`) ? `${p.title} overlaps at ${x},${y}` : 'ok').toBe('ok');
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test("its queries read our metrics (every fleet_ one it names is defined) and the SDK's; each of ours is on it", () => {
    const families = dashboardExpressions(dashboard).flatMap(metricFamiliesIn);
    const ours = Object.values(METRIC) as string[];
    expect(families.filter((name) => name.startsWith('fleet_') && !ours.includes(name))).toEqual([]);
    expect(families.filter((name) => !name.startsWith('fleet_') && !name.startsWith('temporal_'))).toEqual([]);
    expect(ours.filter((name) => !families.includes(name))).toEqual([]);
  });
});
