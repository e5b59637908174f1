/**
 * Simulator throughput and memory at fleet scale: 10,000 appliances (and 1,000 collectors) in
 * one process, loaded from this process over loopback with keep-alive connections, side by side
 * with a bare node:http server answering a fixed body (the floor any HTTP server pays).
 *   npm run bench -- simulator [--appliances 10000] [--requests 20000] [--concurrency 32]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DeviceClient } from '../activities/device-client';

const root = join(__dirname, '..');

const BARE_SERVER = `
  const body = JSON.stringify({ serial: 'S1212345678', running_version: { version_id: '9.12.0-100' } });
  require('node:http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); })
    .listen(0, '127.0.0.1', function () { console.log(JSON.stringify({ msg: 'simulator listening', port: this.address().port })); });`;

async function start(args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FLEET_LOG_LEVEL: 'info' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const match = /"port":(\d+)/.exec(line);
      if (match && line.includes('listening')) resolve(Number(match[1]));
    });
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function load(
  urls: string[],
  requests: number,
  concurrency: number,
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const url = urls[next++ % urls.length]!;
        const t = performance.now();
        const res = await fetch(url);
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: requests / seconds,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

export async function simulatorBenchmark(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      appliances: { type: 'string', default: '10000' },
      requests: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '32' },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);

  const bare = await start(['-e', BARE_SERVER]);
  const sim = await start([
    '--import',
    'tsx',
    'simulator/main.ts',
    '--port',
    '0',
    '--appliances',
    values.appliances,
    '--collectors',
    '1000',
    '--profile',
    'clean',
  ]);
  try {
    const client = new DeviceClient({ baseUrl: sim.url });
    const serials = await client.listSerials();
    const idleMiB = rssMiB(sim.proc.pid!);

    // Warm both, then measure each alone.
    await load([`${bare.url}/x`], 2000, concurrency);
    await load(
      serials.slice(0, 2000).map((s) => `${sim.url}/devices/${s}`),
      2000,
      concurrency,
    );
    const baseline = await load([`${bare.url}/x`], requests, concurrency);
    const info = await load(
      serials.map((s) => `${sim.url}/devices/${s}`),
      requests,
      concurrency,
    );
    // Every appliance busy with a job, then polled as the activities poll.
    const jobs = await Promise.all(
      serials.map((s, i) =>
        client.stage(
          s,
          { url: 'http://images.invalid/x.img', target_version: { version_id: '9.16.0-100' } },
          `bench-${i}`,
        ),
      ),
    );
    const polls = await load(
      jobs.map((j) => `${sim.url}/devices/${j.serial}/jobs/${j.id}`),
      requests,
      concurrency,
    );
    const loadedMiB = rssMiB(sim.proc.pid!);

    console.log(
      `\nsimulator: ${serials.length} appliances + 1000 collectors, ${requests} requests, ${concurrency} at once, keep-alive, loopback`,
    );
    console.log(
      `${'server / request'.padEnd(40)}${'req/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`,
    );
    for (const [name, r] of [
      ['bare node:http, fixed body', baseline],
      ['simulator GET /devices/{serial}', info],
      ['simulator GET …/jobs/{id} (all busy)', polls],
    ] as const) {
      console.log(
        `${name.padEnd(40)}${r.perSecond.toFixed(0).padStart(10)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}`,
      );
    }
    console.log(`ratio simulator/bare (device info): ${(info.perSecond / baseline.perSecond).toFixed(2)}`);
    console.log(
      `simulator memory (RSS): ${idleMiB.toFixed(0)} MiB idle, ${loadedMiB.toFixed(0)} MiB with every appliance holding a job`,
    );
  } finally {
    sim.proc.kill('SIGTERM');
    bare.proc.kill('SIGTERM');
  }
}
