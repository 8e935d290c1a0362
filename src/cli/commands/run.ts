import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { serviceRoleContext } from '../../auth/index.js';
import { loadConfig, type AeroConfig } from '../../config/index.js';
import { FunctionError, toFunctionError } from '../../errors/index.js';
import { createInMemoryFunctions, createInvoker } from '../../invoker/index.js';
import { createRootLogger } from '../../observability/index.js';

export interface RunFlags {
  input?: string;
  timeoutMs?: string;
  memoryMb?: string;
  stackKb?: string;
}

export type RunOutput =
  | { ok: true; output: unknown; durationMs: number; memoryBytes: number }
  | { ok: false; error: { kind: string; code: string; httpStatus: number; message: string } };

/**
 * `aerofn run <file.wasm>`: one invocation in the real sandbox (pool, limits, fresh instance), no
 * server, like `extism call`. Prints exactly one JSON object on stdout; guest logs go to stderr.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a .wasm file once in the sandbox and print one JSON result (exit 1 on failure)')
    .argument('<file>', 'the module (.wasm) to run')
    .option('-i, --input <json|@file>', 'input JSON, or @path to read it from a file', 'null')
    .option('--timeout-ms <ms>', 'wall-clock limit (default AEROFN_DEFAULT_TIMEOUT_MS, 10000)')
    .option('--memory-mb <mb>', 'linear-memory limit (default AEROFN_DEFAULT_MEMORY_MB, 128)')
    .option('--stack-kb <kb>', 'stack limit (default AEROFN_DEFAULT_STACK_KB, 1024)')
    .addHelpText('after', '\nExamples:\n  aerofn run echo.wasm --input \'{"name":"Ada"}\'\n  aerofn run fn.wasm --input @payload.json --timeout-ms 500 --memory-mb 16')
    .action(async (file: string, flags: RunFlags) => {
      const result = await runOnce(file, flags);
      process.stdout.write(JSON.stringify(result) + '\n');
      process.exitCode = result.ok ? 0 : 1;
    });
}

function limit(flag: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (flag === undefined) return fallback;
  const value = Number(flag);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FunctionError('BadRequest', `--${name} must be a whole number from ${min} to ${max}, got "${flag}"`);
  }
  return value;
}

async function readInput(input: string): Promise<string> {
  if (!input.startsWith('@')) return input;
  const path = input.slice(1);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new FunctionError('BadRequest', `cannot read the input file ${path}: ${(error as Error).message}`);
  }
}

export async function runOnce(file: string, flags: RunFlags, env: Record<string, string | undefined> = process.env): Promise<RunOutput> {
  let invoker: ReturnType<typeof createInvoker> | undefined;
  try {
    let config: AeroConfig;
    try {
      config = loadConfig(env);
    } catch (error) {
      throw new FunctionError('BadRequest', (error as Error).message);
    }
    const defaults = config.sandbox.defaults;
    const limits = {
      timeoutMs: limit(flags.timeoutMs, 'timeout-ms', 1, 900_000, defaults.timeoutMs),
      memoryMb: limit(flags.memoryMb, 'memory-mb', 1, 4096, defaults.memoryMb),
      stackKb: limit(flags.stackKb, 'stack-kb', 64, 65_536, defaults.stackKb),
    };
    const payload = (await readInput(flags.input ?? 'null')).trim();
    let wasm: Uint8Array;
    try {
      wasm = await readFile(file);
    } catch (error) {
      throw new FunctionError('BadRequest', `cannot read ${file}: ${(error as Error).message}`);
    }
    const functions = createInMemoryFunctions(limits);
    const name = 'run';
    await functions.deploy(name, wasm, { config: limits });
    // One worker with the run's stack size: nothing else shares this process.
    const logger = createRootLogger({ level: env['AEROFN_LOG_LEVEL'] ?? 'info', destination: process.stderr });
    invoker = createInvoker({ functions, config: { ...config.sandbox, workers: 1, defaults: limits }, logger: logger.child({ module: 'run' }) });
    const record = await invoker.invoke({ functionName: name, payload, trigger: 'cli', rls: serviceRoleContext });
    if (!record.outcome.ok) {
      const { kind, code, httpStatus, message } = record.outcome.error;
      return { ok: false, error: { kind, code, httpStatus, message } };
    }
    return { ok: true, output: JSON.parse(record.outcome.output) as unknown, durationMs: Math.round(record.durationMs * 1000) / 1000, memoryBytes: record.memoryBytes };
  } catch (error) {
    const fe = toFunctionError(error, 'BadRequest');
    return { ok: false, error: { kind: fe.kind, code: fe.code, httpStatus: fe.httpStatus, message: fe.message } };
  } finally {
    await invoker?.close();
  }
}
