/**
 * Drives a gRPC unary call with ghz (Go; scripts/install-ghz.sh puts it in .cache/bin): a lean
 * load generator, so the client does not take the CPU the server under test needs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from './measure.js';

export interface GhzOptions {
  readonly ghz: string;
  readonly protoPath: string;
  /** e.g. aerodb.functions.v1.Functions/Invoke */
  readonly call: string;
  /** The request, already serialized (so ghz neither parses JSON nor runs templates per call). */
  readonly requestBytes: Uint8Array;
  readonly metadata?: Record<string, string>;
  readonly concurrency: number;
  readonly connections: number;
  readonly seconds: number;
  /** Calls per second, as ghz's --rps (0 = as fast as the server answers). */
  readonly rps?: number;
}

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number> | null;
  latencyDistribution: { percentage: number; latency: number }[] | null;
}

export const ghzPath = (repo: string): string | undefined => {
  const path = join(repo, '.cache/bin/ghz');
  return existsSync(path) ? path : undefined;
};

/**
 * Runs ghz for `seconds` against `target`; the result carries the CPU ghz itself used (user + system,
 * all threads), read from the wrapping shell's cutime/cstime in /proc after ghz was reaped.
 */
export async function runGhz(name: string, target: string, options: GhzOptions): Promise<Result & { clientCpuSeconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'aerofn-ghz-'));
  try {
    const input = join(dir, 'request.bin');
    const output = join(dir, 'report.json');
    await writeFile(input, options.requestBytes);
    const args = [
      '--insecure',
      `--proto=${options.protoPath}`,
      `--call=${options.call}`,
      `--binary-file=${input}`,
      '--disable-template-functions',
      '--disable-template-data',
      `--concurrency=${options.concurrency}`,
      `--connections=${options.connections}`,
      `--duration=${options.seconds}s`,
      ...(options.rps === undefined || options.rps === 0 ? [] : [`--rps=${options.rps}`]),
      '--duration-stop=ignore',
      '--format=json',
      `--output=${output}`,
      ...(options.metadata === undefined ? [] : [`--metadata=${JSON.stringify(options.metadata)}`]),
      target,
    ];
    // --duration-stop=ignore: the calls cut off at the end are not counted (as errors or otherwise).
    // The shell waits for ghz, then prints its own /proc stat: fields 16/17 (cutime, cstime) are ghz's CPU.
    const stat = await new Promise<string>((resolve, reject) => {
      const child = spawn('sh', ['-c', '"$@"; code=$?; cat /proc/$$/stat; exit $code', 'sh', options.ghz, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`ghz exited with ${code}`))));
    });
    const fields = stat.split(') ')[1]!.split(' ');
    const clientCpuSeconds = (Number(fields[13]) + Number(fields[14])) / 100;
    const report = JSON.parse(await readFile(output, 'utf8')) as GhzReport;
    const okCount = report.statusCodeDistribution?.['OK'] ?? report.count;
    const latency = (p: number) => (report.latencyDistribution?.find((entry) => entry.percentage === p)?.latency ?? NaN) / 1e6;
    return { name, requests: okCount, errors: report.count - okCount, rps: okCount / (report.total / 1e9), p50: latency(50), p99: latency(99), clientCpuSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
