/**
 * What the fleet benchmarks read of processes: CPU time by role from /proc (this driver and the
 * processes it started: dev server, simulator, workers), and a process's own memory (RSS and V8
 * heap sampled, the kernel's high-water mark).
 */
import { readdirSync, readFileSync } from 'node:fs';

export type CpuSnapshot = Map<string, number>;
const CLOCK_TICKS = 100;

/** What a child process of this driver is, by its command line. */
function roleOf(cmdline: string): string {
  if (cmdline.includes('fleet-worker.ts')) return 'worker';
  if (cmdline.includes('simulator/main.ts')) return 'simulator';
  if (cmdline.includes('temporal-server')) return 'Temporal server';
  if (cmdline.includes('/postgres')) return 'PostgreSQL';
  return /temporal/.test(cmdline) ? 'dev server' : 'other';
}

/**
 * CPU seconds (user + system) by role: this driver, and each child process of it by its command
 * line; PostgreSQL's backends (children of its postmaster) count as PostgreSQL.
 */
export function cpuSnapshot(): CpuSnapshot {
  const own = process.cpuUsage();
  const byRole: CpuSnapshot = new Map([['driver', (own.user + own.system) / 1e6]]);
  const processes: { pid: number; ppid: number; cpu: number }[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state ppid … utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      processes.push({
        pid: Number(pid),
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      });
    } catch {
      // The process ended meanwhile.
    }
  }
  const roles = new Map<number, string>();
  for (const { pid, ppid, cpu } of processes) {
    if (ppid !== process.pid) continue;
    try {
      const role = roleOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      roles.set(pid, role);
      byRole.set(role, (byRole.get(role) ?? 0) + cpu);
    } catch {
      // The process ended meanwhile.
    }
  }
  for (const { ppid, cpu } of processes)
    if (roles.get(ppid) === 'PostgreSQL') byRole.set('PostgreSQL', (byRole.get('PostgreSQL') ?? 0) + cpu);
  return byRole;
}

/** CPU seconds spent by each role between two snapshots (a process that ended counts what was last seen of it). */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): string {
  return [...after.entries()]
    .map(([role, cpu]) => [role, cpu - (before.get(role) ?? 0)] as const)
    .filter(([, cpu]) => cpu > 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([role, cpu]) => `${role} ${cpu.toFixed(0)}s`)
    .join(', ');
}

/** The kernel's high-water mark of this process's RSS (VmHWM), over its whole life; 0 when unknown. */
export function highWaterMark(): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

export interface MemoryReport {
  /** The largest RSS sampled since start or the last reset. */
  peakRssBytes: number;
  /** The RSS at that reset (RSS seldom shrinks: memory bundling took stays resident). */
  startRssBytes: number;
  /** The largest V8 heap in use sampled over the same time. */
  peakHeapBytes: number;
  hwmBytes: number;
  rssBytes: number;
}

/** Samples this process's RSS and heap every `everyMs`, keeping the peaks. */
export class MemorySampler {
  private peak = process.memoryUsage.rss();
  private start = this.peak;
  private peakHeap = process.memoryUsage().heapUsed;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 200) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    this.peakHeap = Math.max(this.peakHeap, process.memoryUsage().heapUsed);
  }

  /** The peaks restart from now. */
  reset(): void {
    this.peak = this.start = process.memoryUsage.rss();
    this.peakHeap = process.memoryUsage().heapUsed;
  }

  stop(): MemoryReport {
    clearInterval(this.timer);
    const rss = process.memoryUsage.rss();
    this.peak = Math.max(this.peak, rss);
    return {
      peakRssBytes: this.peak,
      startRssBytes: this.start,
      peakHeapBytes: this.peakHeap,
      hwmBytes: highWaterMark(),
      rssBytes: rss,
    };
  }
}
