/** The simulated appliance on a fake clock: timings and faults, exactly. */
import { DeviceApiError, SimulatedAppliance, type SimulatorTimings } from '../../simulator/appliance';
import { parseFaultSpec } from '../../simulator/faults';
import { generateAppliances, generateCollectors } from '../../simulator/fleet';
import { Simulator } from '../../simulator/server';

const TIMINGS: SimulatorTimings = {
  speed: 1,
  defaultImageBytes: 1_000_000,
  patchSeconds: 30,
  installSeconds: 120,
  rebootSeconds: 90,
  serviceStartSeconds: 10,
};
const TARGET = { version_id: '9.16.0-100' };

function device(overrides: Partial<ReturnType<typeof generateAppliances>[number]> = {}) {
  let now = 1_000_000;
  const spec = { ...generateAppliances(1)[0]!, bandwidth_bps: 10_000, ...overrides };
  const appliance = new SimulatedAppliance(spec, TIMINGS, () => now);
  return { appliance, spec, tick: (seconds: number) => (now += seconds * 1000) };
}

function thrown(fn: () => unknown): DeviceApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DeviceApiError) return err;
    throw err;
  }
  throw new Error('expected a DeviceApiError');
}

test('download time follows image size and bandwidth; patching a delta takes its own time', () => {
  const { appliance, tick } = device();
  const full = appliance.stage({ target_version: TARGET, delta: false, size_bytes: 1_000_000 }); // 100 s at 10 kB/s
  tick(99);
  expect(appliance.job(full.id).state).toBe('running');
  tick(1);
  expect(appliance.job(full.id).state).toBe('succeeded');
  const running = appliance.info().running_version;
  const delta = appliance.stage({
    target_version: { version_id: '9.16.1-100' },
    delta: true,
    source_version: running,
    size_bytes: 100_000,
  }); // 10 s
  tick(9);
  expect(appliance.job(delta.id).state).toBe('running');
  tick(1);
  expect(appliance.job(delta.id).state).toBe('succeeded');
  const patch = appliance.patch({ version_id: '9.16.1-100' }); // 30 s
  tick(29);
  expect(appliance.job(patch.id).state).toBe('running');
  tick(1);
  expect(appliance.job(patch.id).state).toBe('succeeded');
  expect(appliance.counters).toMatchObject({ stages: 2, patches: 1 });
});

test('the version changes only after the reboot that switches partitions', () => {
  const { appliance, tick } = device();
  const before = appliance.info().running_version;
  appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  tick(1);
  appliance.install({ version_id: TARGET.version_id, esxi_force: false });
  tick(120);
  expect(appliance.info()).toMatchObject({ running_version: before, standby_version: TARGET });
  appliance.reboot({ switch_partition: true });
  expect(thrown(() => appliance.info())).toMatchObject({ status: 503, code: 'device.rebooting' });
  tick(90);
  expect(appliance.info()).toMatchObject({ running_version: TARGET, standby_version: before });
});

test('slow_link multiplies download time by its factor', () => {
  const { appliance, tick } = device();
  appliance.addFault({ kind: 'slow_link', factor: 4 });
  const job = appliance.stage({ target_version: TARGET, delta: false, size_bytes: 1_000_000 });
  tick(399);
  expect(appliance.job(job.id).state).toBe('running');
  tick(1);
  expect(appliance.job(job.id).state).toBe('succeeded');
});

test('hang_at_stage never finishes until cancelled; fail_at_stage ends failed without effect', () => {
  const { appliance, tick } = device();
  appliance.addFault({ kind: 'hang_at_stage', stage: 'stage' });
  const hung = appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  tick(86_400);
  expect(appliance.job(hung.id)).toMatchObject({ state: 'running', progress: 0 });
  expect(appliance.cancelJob(hung.id).state).toBe('cancelled');

  const other = device();
  other.appliance.addFault({ kind: 'fail_at_stage', stage: 'stage', message: 'checksum mismatch' });
  const failed = other.appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  other.tick(10);
  expect(other.appliance.job(failed.id)).toMatchObject({ state: 'failed', message: 'checksum mismatch' });
  expect(other.appliance.counters.stages).toBe(0);
});

test('hold_at_stage keeps a job running past its time until the faults are cleared, then it ends', () => {
  const { appliance, tick } = device();
  appliance.addFault({ kind: 'hold_at_stage', stage: 'stage' });
  const held = appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  tick(86_400);
  expect(appliance.job(held.id).state).toBe('running');
  appliance.clearFaults();
  expect(appliance.job(held.id).state).toBe('succeeded');
  expect(appliance.counters.stages).toBe(1);
});

test('disconnect for a period, then answer again; clearing faults reconnects at once', () => {
  const { appliance, tick } = device();
  appliance.addFault({ kind: 'disconnect', seconds: 60 });
  expect(thrown(() => appliance.info())).toMatchObject({ status: 503, code: 'device.disconnected' });
  tick(60);
  expect(appliance.info().serial).toBeDefined();
  appliance.addFault({ kind: 'disconnect' });
  tick(86_400);
  expect(thrown(() => appliance.info()).code).toBe('device.disconnected');
  appliance.clearFaults();
  expect(appliance.info().serial).toBeDefined();
});

test('no_return_from_reboot, wrong_version_after_reboot, esxi_conflict', () => {
  const gone = device();
  gone.appliance.addFault({ kind: 'no_return_from_reboot' });
  gone.appliance.reboot({ switch_partition: false });
  gone.tick(86_400);
  expect(thrown(() => gone.appliance.info()).code).toBe('device.rebooting');

  const wrong = device();
  const before = wrong.appliance.info().running_version;
  wrong.appliance.addFault({ kind: 'wrong_version_after_reboot' });
  wrong.appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  wrong.tick(1);
  wrong.appliance.install({ version_id: TARGET.version_id, esxi_force: false });
  wrong.tick(120);
  wrong.appliance.reboot({ switch_partition: true });
  wrong.tick(90);
  expect(wrong.appliance.info().running_version).toEqual(before);

  const esxi = device({ esxi_version: '6.7.0' });
  esxi.appliance.addFault({ kind: 'esxi_conflict' });
  esxi.appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  esxi.tick(1);
  expect(thrown(() => esxi.appliance.install({ version_id: TARGET.version_id, esxi_force: false }))).toMatchObject({
    status: 409,
    code: 'install.esxi_conflict',
  });
  expect(esxi.appliance.install({ version_id: TARGET.version_id, esxi_force: true }).state).toBe('running');
});

test('flapping_5xx fails that share of requests, the same way every run', () => {
  const outcomes = () => {
    const { appliance } = device();
    appliance.addFault({ kind: 'flapping_5xx', probability: 0.5 });
    return Array.from({ length: 200 }, () => {
      try {
        appliance.info();
        return true;
      } catch {
        return false;
      }
    });
  };
  const first = outcomes();
  expect(outcomes()).toEqual(first);
  const failures = first.filter((ok) => !ok).length;
  expect(failures).toBeGreaterThan(70);
  expect(failures).toBeLessThan(130);
});

test('fault specs from the command line', () => {
  expect(parseFaultSpec('fail_at_stage:install@0.05')).toEqual({
    fault: { kind: 'fail_at_stage', stage: 'install' },
    probability: 0.05,
  });
  expect(parseFaultSpec('slow_link=4@0.1')).toEqual({ fault: { kind: 'slow_link', factor: 4 }, probability: 0.1 });
  expect(parseFaultSpec('disconnect=600@1')).toEqual({ fault: { kind: 'disconnect', seconds: 600 }, probability: 1 });
  expect(() => parseFaultSpec('melt@1')).toThrow("--fault 'melt@1': fault.kind");
  expect(() => parseFaultSpec('hang_at_stage:boot@1')).toThrow('fault.stage');
  expect(() => parseFaultSpec('esxi_conflict=3@1')).toThrow('takes no value');
});

test('the demo profile has appliances in every exception state and collectors of both types, alive and not', () => {
  const fleet = generateAppliances(400, 1, 'demo');
  expect(fleet.some((a) => !a.entitled)).toBe(true);
  expect(fleet.some((a) => a.read_only)).toBe(true);
  expect(fleet.some((a) => a.model_eol)).toBe(true);
  expect(fleet.some((a) => !a.connected)).toBe(true);
  expect(new Set(fleet.map((a) => a.arch))).toEqual(new Set(['x86_64', 'i386']));
  expect(
    generateAppliances(400, 1, 'clean').every((a) => a.connected && a.entitled && !a.read_only && !a.model_eol),
  ).toBe(true);
  const collectors = generateCollectors(40, 1, 'demo');
  expect(new Set(collectors.map((c) => c.collectorType))).toEqual(new Set(['Installable', 'Hosted']));
  expect(new Set(collectors.map((c) => c.alive))).toEqual(new Set([true, false]));
});

test('an appliance the fleet lists as disconnected reports itself so, and refuses every job', () => {
  const { appliance } = device({ connected: false });
  expect(appliance.info()).toMatchObject({ connected: false });
  expect(thrown(() => appliance.stage({ target_version: TARGET, delta: false })).code).toBe('device.disconnected');
  expect(thrown(() => appliance.reboot({ switch_partition: false })).code).toBe('device.disconnected');
});

test('the demo profile has legacy appliances on a release no image upgrades from; the rest of the fleet is unchanged', () => {
  const demo = generateAppliances(100, 7, 'demo');
  const clean = generateAppliances(100, 7, 'clean');
  const legacy = demo.filter((a) => a.running_version.version_id === '9.10.0-100').map((a) => a.hostname);
  expect(legacy.length).toBeGreaterThan(0);
  expect(clean.some((a) => a.running_version.version_id === '9.10.0-100')).toBe(false);
  // Same serials, models, arches and versions apart from the legacy ones.
  demo.forEach((a, i) => {
    expect([a.serial, a.model, a.arch]).toEqual([clean[i]!.serial, clean[i]!.model, clean[i]!.arch]);
    if (!legacy.includes(a.hostname)) expect(a.running_version).toEqual(clean[i]!.running_version);
  });
});

test("every job answer says its whole duration in real seconds at the simulator's speed, a hung job what it would have taken", () => {
  let now = 1_000_000;
  const spec = { ...generateAppliances(1)[0]!, bandwidth_bps: 10_000 };
  const fast = new SimulatedAppliance(spec, { ...TIMINGS, speed: 20 }, () => now);
  const stage = fast.stage({ target_version: TARGET, delta: false, size_bytes: 1_000_000 }); // 100 s simulated, 5 s real
  expect(stage.expected_seconds).toBe(5);
  now += 2_000;
  expect(fast.job(stage.id)).toMatchObject({ state: 'running', expected_seconds: 5 });
  now += 3_000;
  expect(fast.job(stage.id)).toMatchObject({ state: 'succeeded', expected_seconds: 5 });
  expect(fast.install({ version_id: TARGET.version_id, esxi_force: false }).expected_seconds).toBe(6); // 120 s / 20
  now += 6_000;
  expect(fast.reboot({ switch_partition: true }).expected_seconds).toBe(4.5); // 90 s / 20

  const { appliance } = device();
  appliance.addFault({ kind: 'hang_at_stage', stage: 'stage' });
  const hung = appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 }); // 1 s at 10 kB/s
  expect(hung.expected_seconds).toBe(1);
  expect(appliance.cancelJob(hung.id)).toMatchObject({ state: 'cancelled', expected_seconds: 1 });
});

/** A fleet of `count` appliances on a fake clock, each with a 10 kB/s link (a 100 kB download takes 10 s). */
function fleet(count: number) {
  let now = 5_000_000;
  const specs = generateAppliances(count).map((a) => ({ ...a, bandwidth_bps: 10_000 }));
  const sim = new Simulator(specs, TIMINGS, [], () => now);
  const serials = specs.map((a) => a.serial);
  const stage = (i: number, seconds: number) =>
    sim.appliance(serials[i]!).stage({ target_version: TARGET, delta: false, size_bytes: seconds * 10_000 });
  return { sim, serials, stage, tick: (seconds: number) => (now += seconds * 1000) };
}

test("fleet stats: jobs running now and the peak at once, from each job's interval", () => {
  const { sim, stage, tick } = fleet(4);
  expect(sim.stats.stats()).toEqual({ requests: 0, jobs_running: 0, peak_jobs_running: 0, jobs_started: 0 });
  // Overlapping: 0–10 s, 2–7 s, 4–14 s.
  stage(0, 10);
  tick(2);
  stage(1, 5);
  tick(2);
  stage(2, 10);
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 3, peak_jobs_running: 3, jobs_started: 3 });
  tick(4); // 8 s: the second has ended, without a read of its device
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 2, peak_jobs_running: 3 });
  tick(10); // 18 s: all have ended
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 0, peak_jobs_running: 3 });
  // Not overlapping: one after the other never runs two at once.
  sim.stats.reset();
  expect(sim.stats.stats()).toEqual({ requests: 0, jobs_running: 0, peak_jobs_running: 0, jobs_started: 0 });
  stage(3, 5);
  tick(5);
  stage(0, 5);
  tick(5);
  stage(1, 5);
  expect(sim.stats.stats()).toEqual({ requests: 0, jobs_running: 1, peak_jobs_running: 1, jobs_started: 3 });
});

test('fleet stats: a cancelled job stops running at once; a hung one runs until cancelled; a reset keeps the running ones as the peak', () => {
  const { sim, serials, stage, tick } = fleet(3);
  const first = stage(0, 100);
  sim.appliance(serials[1]!).addFault({ kind: 'hang_at_stage', stage: 'stage' });
  const hung = stage(1, 1);
  tick(1);
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 2, peak_jobs_running: 2 });
  sim.appliance(serials[0]!).cancelJob(first.id);
  sim.appliance(serials[0]!).cancelJob(first.id); // counted once
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 1, peak_jobs_running: 2 });
  sim.stats.reset();
  expect(sim.stats.stats()).toEqual({ requests: 0, jobs_running: 1, peak_jobs_running: 1, jobs_started: 0 });
  // The cancelled job's place is free: the next start makes two (the hung job and it), not three.
  stage(2, 10);
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 2, peak_jobs_running: 2, jobs_started: 1 });
  tick(86_400);
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 1 });
  sim.appliance(serials[1]!).cancelJob(hung.id);
  expect(sim.stats.stats()).toMatchObject({ jobs_running: 0, peak_jobs_running: 2 });
});

/** Stages and installs TARGET, then reboots to it: the appliance is up again at the end. */
function upgradeTo(appliance: SimulatedAppliance, tick: (s: number) => void): void {
  appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  tick(1);
  appliance.install({ version_id: TARGET.version_id, esxi_force: false });
  tick(120);
  appliance.reboot({ switch_partition: true });
  tick(90);
}

test('health: services start serviceStartSeconds after a reboot; slow_to_healthy takes its seconds', () => {
  const { appliance, tick } = device();
  expect(appliance.health()).toMatchObject({ uptime_seconds: 86_400, error_counters: { service_restarts: 0 } });
  expect(appliance.health().services.every((s) => s.state === 'up')).toBe(true);
  upgradeTo(appliance, tick);
  expect(appliance.health().uptime_seconds).toBe(0);
  expect(appliance.health().services.map((s) => s.state)).toEqual(['starting', 'starting', 'starting']);
  tick(10);
  expect(appliance.health().services.map((s) => s.state)).toEqual(['up', 'up', 'up']);
  appliance.addFault({ kind: 'slow_to_healthy', seconds: 300 });
  appliance.reboot({ switch_partition: false });
  expect(thrown(() => appliance.health())).toMatchObject({ status: 503, code: 'device.rebooting' });
  tick(90 + 299);
  expect(appliance.health().services[0]!.state).toBe('starting');
  tick(1);
  expect(appliance.health().services[0]!.state).toBe('up');
});

test('unhealthy_after_upgrade: on another version than when it was added a service is down and restarts count; back on it, healthy', () => {
  const { appliance, tick } = device();
  const before = appliance.info().running_version;
  appliance.addFault({ kind: 'unhealthy_after_upgrade' });
  upgradeTo(appliance, tick);
  tick(70);
  expect(appliance.health()).toMatchObject({
    services: [
      { name: 'management', state: 'up' },
      { name: 'datapath', state: 'up' },
      { name: 'optimization', state: 'down' },
    ],
    error_counters: { service_restarts: 3 },
  });
  appliance.reboot({ switch_partition: true });
  tick(100);
  expect(appliance.info().running_version).toEqual(before);
  expect(appliance.health()).toMatchObject({
    services: [{ state: 'up' }, { state: 'up' }, { state: 'up' }],
    error_counters: { service_restarts: 0 },
  });
});

test('fail_first_installs: the first count installs fail without writing the standby partition, the next succeeds', () => {
  const { appliance, tick } = device();
  appliance.addFault({ kind: 'fail_first_installs', count: 2 });
  appliance.stage({ target_version: TARGET, delta: false, size_bytes: 10_000 });
  tick(1);
  for (const n of [1, 2]) {
    const job = appliance.install({ version_id: TARGET.version_id, esxi_force: false });
    tick(120);
    expect(appliance.job(job.id)).toMatchObject({ state: 'failed', message: `simulated install failure ${n} of 2` });
  }
  expect(appliance.info().standby_version).toBeNull();
  const third = appliance.install({ version_id: TARGET.version_id, esxi_force: false });
  tick(120);
  expect(appliance.job(third.id).state).toBe('succeeded');
  expect(appliance.counters.installs).toBe(1);
  expect(parseFaultSpec('fail_first_installs=1@0.5')).toEqual({
    fault: { kind: 'fail_first_installs', count: 1 },
    probability: 0.5,
  });
  expect(parseFaultSpec('slow_to_healthy=300@1')).toEqual({
    fault: { kind: 'slow_to_healthy', seconds: 300 },
    probability: 1,
  });
});
