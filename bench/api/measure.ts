/** Measuring helpers of bench/api: results, CPU per request from /proc, a closed-loop driver. */
import { readdir, readFile } from 'node:fs/promises';

export interface Result {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time per request of the server process (all its threads) and of the load generator, µs. */
  serverCpuUs?: number;
  clientCpuUs?: number;
  /** The server's main (event-loop) thread alone, µs per request: the thread a Node server saturates first. */
  serverMainCpuUs?: number;
}

/** utime + stime of a process, all threads, in seconds (Linux /proc; USER_HZ = 100). */
export async function processCpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** utime + stime of one thread of a process (the main thread's id is the pid). */
async function threadCpuSeconds(pid: number, tid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of every thread of a process by name (comm), for BENCH_THREADS=1. */
export async function threadsCpuSeconds(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = `${tid === String(pid) ? 'main ' : ''}${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`;
      const fields = stat.split(') ')[1]!.split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

export const ownCpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/**
 * Runs `measure` and adds the CPU both sides spent per request: on a busy machine wall-clock rates
 * move, CPU per request much less. The load generator is this process unless `measure` reports the
 * CPU of its own (a child like ghz) as `clientCpuSeconds`. Without a server pid the measured code
 * runs in this process and its CPU is the "server" cost (the in-process row).
 */
export async function withCpu(serverPid: number | undefined, measure: () => Promise<Result & { clientCpuSeconds?: number }>): Promise<Result> {
  const server0 = serverPid === undefined ? 0 : await processCpuSeconds(serverPid);
  const main0 = serverPid === undefined ? 0 : await threadCpuSeconds(serverPid, serverPid);
  const threads0 = process.env['BENCH_THREADS'] === '1' && serverPid !== undefined ? await threadsCpuSeconds(serverPid) : undefined;
  const client0 = ownCpuSeconds();
  const { clientCpuSeconds, ...result } = await measure();
  const client = clientCpuSeconds ?? ownCpuSeconds() - client0;
  const server = serverPid === undefined ? 0 : (await processCpuSeconds(serverPid)) - server0;
  const main = serverPid === undefined ? 0 : (await threadCpuSeconds(serverPid, serverPid)) - main0;
  const perRequest = (cpuSeconds: number) => (cpuSeconds * 1e6) / Math.max(1, result.requests);
  if (threads0 !== undefined && serverPid !== undefined) {
    const threads = [...(await threadsCpuSeconds(serverPid))].map(([name, cpu]) => `${name} ${perRequest(cpu - (threads0.get(name) ?? 0)).toFixed(0)}`);
    console.log(`  ${result.name}: server threads, µs per request: ${threads.join(', ')}`);
  }
  if (serverPid === undefined) return { ...result, serverCpuUs: perRequest(client) };
  return { ...result, serverCpuUs: perRequest(server), serverMainCpuUs: perRequest(main), clientCpuUs: perRequest(client) };
}

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** `concurrency` loops calling `call` for `seconds`; latency of every call in ms. */
export async function closedLoop(name: string, seconds: number, concurrency: number, call: () => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t0);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { name, requests: latencies.length, errors, rps: latencies.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}
