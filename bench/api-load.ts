/**
 * Load generator for the api-latency benchmark, run as its own process so the client's work does
 * not share the API's event loop: `node --import tsx bench/api-load.ts` reads one LoadPlan as JSON
 * on stdin, runs its jobs one after another over keep-alive HTTP connections at a fixed
 * concurrency (each job for N requests or T seconds, whichever ends first, after a short warm-up),
 * and prints, per job, `{"start": name}` when its measured phase begins and then its LoadResult, each
 * as a JSON line on stdout (nothing else goes to stdout).
 */
import { Agent, request as httpRequest } from 'node:http';

export interface LoadJob {
  name: string;
  method: 'GET' | 'POST';
  /** Request k goes to paths[k % paths.length] (warm-up requests count in k). */
  paths: string[];
  /** POST bodies: request k sends bodies[k]; the job ends when they run out. */
  bodies?: unknown[];
  /** Measured requests at most. */
  requests: number;
  /** Measuring stops issuing requests after this many seconds. */
  seconds: number;
  /** Requests sent before measuring (not counted). */
  warmup: number;
}

export interface LoadPlan {
  baseUrl: string;
  headers: Record<string, string>;
  concurrency: number;
  jobs: LoadJob[];
}

export interface LoadResult {
  name: string;
  /** Every measured request's latency (request sent to last body byte read), ms. */
  latenciesMs: number[];
  /** Measured answers by HTTP status. */
  statuses: Record<string, number>;
  /** Measured requests that got no answer (connection errors). */
  errors: number;
  /** The first non-2xx answer's body (truncated), or the first error, to show why. */
  firstFailure?: string;
  /** Wall-clock time of the measured phase. */
  elapsedMs: number;
  /** Response body bytes, measured phase. */
  bytes: number;
}

interface Answer {
  status: number;
  body: string;
  bytes: number;
}

function send(agent: Agent, plan: LoadPlan, method: string, path: string, body: unknown): Promise<Answer> {
  const url = new URL(path, plan.baseUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        method,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        headers: {
          ...plan.headers,
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          // Only a failure's body is kept (to report it); a success is counted, not stored.
          if (res.statusCode === undefined || res.statusCode >= 300) chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), bytes }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function runJob(agent: Agent, plan: LoadPlan, job: LoadJob): Promise<LoadResult> {
  const available = job.bodies ? job.bodies.length : Number.POSITIVE_INFINITY;
  const warmup = Math.min(job.warmup, available);
  const total = Math.min(warmup + job.requests, available);
  let next = 0;
  const result: LoadResult = { name: job.name, latenciesMs: [], statuses: {}, errors: 0, elapsedMs: 0, bytes: 0 };

  const worker = async (until: number, measuring: boolean, deadline: number): Promise<void> => {
    while (next < until && (!measuring || performance.now() < deadline)) {
      const k = next++;
      const started = performance.now();
      try {
        const answer = await send(agent, plan, job.method, job.paths[k % job.paths.length]!, job.bodies?.[k]);
        if (!measuring) continue;
        result.latenciesMs.push(performance.now() - started);
        result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
        result.bytes += answer.bytes;
        if (answer.status >= 300 && result.firstFailure === undefined)
          result.firstFailure = `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
      } catch (err) {
        if (!measuring) continue;
        result.errors++;
        result.firstFailure ??= `error: ${(err as Error).message}`;
      }
    }
  };
  const workers = (until: number, measuring: boolean, deadline = Number.POSITIVE_INFINITY) =>
    Promise.all(Array.from({ length: plan.concurrency }, () => worker(until, measuring, deadline)));

  await workers(warmup, false);
  // Marks the measured phase, so the API process can account its own CPU time to this job.
  process.stdout.write(`${JSON.stringify({ start: job.name })}\n`);
  const started = performance.now();
  await workers(total, true, started + job.seconds * 1000);
  result.elapsedMs = performance.now() - started;
  return result;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const plan = JSON.parse(await readStdin()) as LoadPlan;
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  try {
    for (const job of plan.jobs) process.stdout.write(`${JSON.stringify(await runJob(agent, plan, job))}\n`);
  } finally {
    agent.destroy();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
