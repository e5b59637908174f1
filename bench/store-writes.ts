/**
 * Store write throughput for appliance task-state updates, SQLite (file, WAL) and PostgreSQL side
 * by side: one operation of N tasks, each task moved through its stages as the workflows do (one
 * transaction per update), sequentially and with several writers at once.
 *   npm run bench -- store-writes [--tasks 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FleetStore, type TaskRecord } from '../store/fleet-store';
import { createDatabase, postgresUnavailableReason, startPostgres } from '../test/helpers/postgres';

const STAGES: [string, string][] = [
  ['running', 'initiating'],
  ['running', 'downloading'],
  ['running', 'installing'],
  ['successful', 'completed'],
];

async function measure(store: FleetStore, tasks: number, writers: number): Promise<number> {
  const operationId = `bench-${writers}-${Date.now()}`;
  const serials = Array.from({ length: tasks }, (_, i) => `S12AB${i.toString(16).toUpperCase().padStart(8, '0')}`);
  const records: TaskRecord[] = serials.map((serial) => ({
    operation_id: operationId,
    serial,
    status: 'scheduled',
    stage: 'waiting',
    target_version: { version_id: '9.16.0-100' },
    reboot: true,
    current_version: { version_id: '9.12.0-100' },
  }));
  await store.insertOperation(
    'upgrade',
    {
      id: operationId,
      username: 'bench',
      status: 'running',
      create_time: new Date().toISOString(),
      appliances: serials,
    },
    records,
  );
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < serials.length) {
        const serial = serials[next++]!;
        for (const [status, stage] of STAGES) await store.updateTask(operationId, serial, { status, stage });
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return (tasks * STAGES.length) / seconds;
}

export async function storeWritesBenchmark(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { tasks: { type: 'string', default: '2000' } },
    allowPositionals: true,
  });
  const tasks = Number(values.tasks);
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  const results: { backend: string; writers: number; perSecond: number }[] = [];
  try {
    const sqlite = await FleetStore.open(`sqlite:${join(dir, 'bench.db')}`);
    for (const writers of [1, 8])
      results.push({ backend: 'sqlite (WAL file)', writers, perSecond: await measure(sqlite, tasks, writers) });
    await sqlite.close();

    const reason = postgresUnavailableReason();
    if (reason) console.log(`postgres: not measured (${reason})`);
    else {
      const server = await startPostgres();
      try {
        const pg = await FleetStore.open(await createDatabase(server.url, 'bench'));
        for (const writers of [1, 8])
          results.push({
            backend: 'postgres (local, fsync off)',
            writers,
            perSecond: await measure(pg, tasks, writers),
          });
        await pg.close();
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nstore: task-state updates (${tasks} tasks x ${STAGES.length} updates, one transaction each)`);
  console.log(`${'backend'.padEnd(30)}${'writers'.padStart(8)}${'updates/s'.padStart(12)}`);
  for (const r of results)
    console.log(`${r.backend.padEnd(30)}${String(r.writers).padStart(8)}${r.perSecond.toFixed(0).padStart(12)}`);
  const base = results.find((r) => r.backend.startsWith('sqlite') && r.writers === 1);
  const pg1 = results.find((r) => r.backend.startsWith('postgres') && r.writers === 1);
  if (base && pg1) console.log(`ratio postgres/sqlite (1 writer): ${(pg1.perSecond / base.perSecond).toFixed(2)}`);
}
