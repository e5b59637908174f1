/**
 * The frame `fleet status` draws and the lines it prints into a pipe: progress bar, counts by
 * status and stage, waves, elapsed time and estimate, the first N failed appliances (every one
 * with --all), never a row per appliance unless asked, at 10,000 appliances.
 */
import { bar, changeLines, duration, renderFrame, summarize } from '../../client/cli/progress';
import type { OperationView, TaskView } from '../../client/operations';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const serial = (i: number) => `S12AB${String(i).padStart(8, '0')}`;

/** 10,000 appliances: 3,800 successful, 200 failed, 300 running (stages), the rest scheduled; the first started 100 s ago. */
function fleet(
  options: { rollout?: unknown; status?: string; paused?: boolean; updatedMs?: number } = {},
): OperationView {
  const appliances = Array.from({ length: 10_000 }, (_, i) => serial(i));
  const tasks: TaskView[] = appliances.map((s, i) => {
    const startedMs = NOW - 100_000 + i;
    if (i < 3800) return { serial: s, status: 'successful', stage: 'completed', startedMs };
    if (i < 4000)
      return { serial: s, status: 'failed', stage: 'failed', message: `download failed: HTTP 404 (${i})`, startedMs };
    if (i < 4300) return { serial: s, status: 'running', stage: i < 4120 ? 'downloading' : 'installing', startedMs };
    return { serial: s, status: 'scheduled', stage: 'waiting' };
  });
  return {
    kind: 'upgrade',
    operation: {
      id: '1764590000000123',
      username: 'admin',
      status: (options.status ?? 'running') as 'running',
      create_time: new Date(NOW - 120_000).toISOString(),
      product_code: 'SH',
      target_version: { version_id: '9.18.0-100' },
      appliances,
      ...(options.rollout ? { rollout: options.rollout } : {}),
      ...(options.paused ? { paused: true } : {}),
    },
    tasks,
    ...(options.updatedMs !== undefined ? { updatedMs: options.updatedMs } : {}),
  };
}

test('counts by status and stage, elapsed from the first task start, an estimate at the rate so far', () => {
  const s = summarize(fleet(), NOW);
  expect(s).toMatchObject({
    total: 10_000,
    finished: 4000,
    counts: { scheduled: 5700, running: 300, successful: 3800, failed: 200, cancelled: 0 },
    stages: { downloading: 120, installing: 180 },
    elapsed_ms: 100_000,
  });
  // 4,000 finished in 100 s: the other 6,000 take about 150 s more.
  expect(s.remaining_ms).toBe(150_000);
  expect(s.failed).toHaveLength(200);
  expect(s.failed[0]).toEqual({ serial: serial(3800), message: 'download failed: HTTP 404 (3800)' });
});

test('the frame: a bar, the counts, the estimate and the first 10 failed, in a few lines at 10,000 appliances', () => {
  const frame = renderFrame(summarize(fleet(), NOW)).split('\n');
  expect(frame[0]).toBe('upgrade operation 1764590000000123  SH to 9.18.0-100  running  by admin');
  expect(frame[1]).toBe(
    `${'█'.repeat(12)}${'░'.repeat(18)}  40%  4,000/10,000 finished  elapsed 1m40s  about 2m30s left`,
  );
  expect(frame[2]).toBe('tasks   5,700 scheduled · 300 running · 3,800 successful · 200 failed · 0 cancelled');
  expect(frame[3]).toBe('stages  120 downloading · 180 installing');
  expect(frame[4]).toBe('failed  200 (first 10; --all for every one)');
  expect(frame.slice(5)).toEqual(
    Array.from({ length: 10 }, (_, i) => `  ${serial(3800 + i)}  download failed: HTTP 404 (${3800 + i})`),
  );
  expect(frame).toHaveLength(15);
  expect(renderFrame(summarize(fleet(), NOW), { failures: 3 }).split('\n')).toHaveLength(8);
});

test('--all: every failed appliance and a row for every appliance', () => {
  const snap = fleet();
  const frame = renderFrame(summarize(snap, NOW), { all: true, tasks: snap.tasks }).split('\n');
  expect(frame).toContain('failed  200');
  expect(frame.filter((l) => /^ {2}S12AB\d{8} {2}download failed/.test(l))).toHaveLength(200);
  expect(frame.filter((l) => /^S12AB\d{8}\s/.test(l))).toHaveLength(10_000);
  expect(frame).toContain(`${serial(4200).padEnd(16)}${'running'.padEnd(12)}${'installing'.padEnd(14)}`);
});

test('waves: a bar per wave, finished and waiting waves summed up so the frame stays short', () => {
  const s = summarize(fleet({ rollout: { waves: [1, '10%'] } }), NOW);
  // 1, then 1,000 at a time: 11 waves; the first four are done, the fifth and sixth run.
  expect(s.waves).toHaveLength(11);
  expect(s.waves!.map((w) => w.state)).toEqual([
    'done',
    'done',
    'done',
    'done',
    'running',
    'running',
    'waiting',
    'waiting',
    'waiting',
    'waiting',
    'waiting',
  ]);
  const frame = renderFrame(s).split('\n');
  expect(frame).toContain('waves   4/11 done');
  expect(frame).toContain('  waves 1–4 done (3,001 appliances, 0 failed)');
  expect(frame).toContain(`  wave 5   ${bar(999, 1000, 30)}  99%  999/1,000  running 1  failed 200`);
  expect(frame).toContain(`  wave 6   ${bar(0, 1000, 30)}   0%  0/1,000  running 299`);
  expect(frame).toContain('  waves 7–11 waiting (4,999 appliances)');
  expect(frame.length).toBeLessThan(25);
  // Few waves: a bar for each.
  const few = renderFrame(summarize(fleet({ rollout: { waves: ['50%'] } }), NOW)).split('\n');
  expect(few.filter((l) => l.startsWith('  wave '))).toEqual([
    `  wave 1   ${bar(4000, 5000, 30)}  80%  4,000/5,000  running 300  failed 200`,
    `  wave 2   ${bar(0, 5000, 30)}   0%  0/5,000`,
  ]);
});

test('paused: no estimate; finished: elapsed up to its end, no estimate', () => {
  expect(summarize(fleet({ paused: true }), NOW).remaining_ms).toBeUndefined();
  expect(renderFrame(summarize(fleet({ paused: true }), NOW)).split('\n')[0]).toContain(
    'running (paused: no new task starts)',
  );
  const ended = summarize(fleet({ status: 'partially_successful', updatedMs: NOW - 40_000 }), NOW);
  expect([ended.elapsed_ms, ended.remaining_ms]).toEqual([60_000, undefined]);
});

test('a line per change: the first summary, newly failed appliances (first N), waves starting and ending, counts; nothing when only time passed', () => {
  const before = fleet({ rollout: { waves: [1, '10%'] } });
  const first = changeLines(undefined, summarize(before, NOW), NOW, { failures: 2 });
  expect(first[0]).toBe('12:00:00  upgrade operation 1764590000000123  SH to 9.18.0-100  running  by admin');
  expect(first).toContain('12:00:00  … and 198 more failed (--all for every one)');
  expect(first.at(-1)).toBe(
    '12:00:00  40% 4,000/10,000 finished · 5,700 scheduled · 300 running · 3,800 successful · 200 failed · 0 cancelled | 120 downloading · 180 installing · elapsed 1m40s · about 2m30s left',
  );
  expect(changeLines(summarize(before, NOW), summarize(before, NOW + 5000), NOW + 5000)).toEqual([]);

  // Waves 5 and 6 finish (one more failure), wave 7 starts.
  const after = fleet({ rollout: { waves: [1, '10%'] } });
  for (const t of after.tasks.slice(4000, 5001)) Object.assign(t, { status: 'successful', stage: 'completed' });
  Object.assign(after.tasks[4500]!, { status: 'failed', stage: 'failed', message: 'install failed: disk full' });
  Object.assign(after.tasks[5001]!, { status: 'running', stage: 'initiating', startedMs: NOW });
  const lines = changeLines(summarize(before, NOW), summarize(after, NOW + 1000), NOW + 1000);
  expect(lines.slice(0, 4)).toEqual([
    '12:00:01  wave 5/11 done: 800 ok, 200 failed',
    '12:00:01  wave 6/11 done: 999 ok, 1 failed',
    '12:00:01  wave 7/11 started (1,000 appliances)',
    `12:00:01  ${serial(4500)} failed: install failed: disk full`,
  ]);
  expect(lines[4]).toMatch(
    /^12:00:01 {2}50% 5,001\/10,000 finished · 4,998 scheduled · 1 running · 4,800 successful · 201 failed · 0 cancelled \| 1 initiating · elapsed /,
  );
  expect(lines).toHaveLength(5);

  const ended = changeLines(
    summarize(after, NOW),
    summarize({ ...after, operation: { ...after.operation, status: 'successful' }, updatedMs: NOW + 2000 }, NOW + 3000),
    NOW + 3000,
  );
  expect(ended).toEqual(['12:00:03  operation successful (elapsed 1m42s)']);
});

test('durations and bars', () => {
  expect([duration(42_000), duration(725_000), duration(11_040_000)]).toEqual(['42s', '12m05s', '3h04m']);
  expect([bar(0, 10, 10), bar(5, 10, 10), bar(10, 10, 10), bar(0, 0, 4)]).toEqual([
    '░'.repeat(10),
    '█████░░░░░',
    '█'.repeat(10),
    '████',
  ]);
});
