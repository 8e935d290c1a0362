import type { Command } from 'commander';
import { FunctionsApiClient } from '../api/index.js';
import { FunctionError, isFunctionError } from '../errors/index.js';

export const defaultUrl = '127.0.0.1:50051';

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** The options every command shares, read from the root program (flags win over the environment). */
export function globalOptions(command: Command): Required<Pick<GlobalOptions, 'url'>> & GlobalOptions {
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    url: options.url ?? process.env['AEROFN_URL'] ?? defaultUrl,
    token: options.token ?? process.env['AEROFN_TOKEN'],
    json: options.json === true,
  };
}

/** `http://host:port` and `grpc://host:port` are accepted too: people paste what they have. */
export function grpcAddress(url: string): string {
  return url.replace(/^(grpc|https?):\/\//, '').replace(/\/+$/, '');
}

export function clientFor(command: Command): FunctionsApiClient {
  const options = globalOptions(command);
  return new FunctionsApiClient(grpcAddress(options.url), { ...(options.token === undefined ? {} : { token: options.token }) });
}

/** Runs a command body with a client, closing it, printing failures as a person would want them. */
export async function withClient(command: Command, body: (client: FunctionsApiClient, json: boolean) => Promise<void>): Promise<void> {
  const client = clientFor(command);
  try {
    await body(client, globalOptions(command).json === true);
  } finally {
    client.close();
  }
}

const hints: Partial<Record<FunctionError['kind'], string>> = {
  Unauthorized: 'set AEROFN_TOKEN (or --token) to a JWT signed with the server\'s AEROFN_JWT_SECRET; `make run` prints ready ones',
  Forbidden: 'this needs a service_role JWT in AEROFN_TOKEN',
  NotFound: '`aerofn ls` lists the deployed functions',
  Conflict: 'someone deployed in between: check `aerofn get <name>` and retry with the current --expected-version',
  InvalidWasm: 'rebuild the module (e.g. `make build-wasm`) and check it exports memory, alloc and handler',
};

export function printError(error: unknown, json: boolean): number {
  const fe = isFunctionError(error) ? error : new FunctionError('BadRequest', error instanceof Error ? error.message : String(error));
  if (json) {
    process.stderr.write(JSON.stringify({ error: { kind: fe.kind, code: fe.code, message: fe.message } }) + '\n');
  } else {
    process.stderr.write(`aerofn: ${fe.message}\n`);
    const hint = hints[fe.kind];
    if (hint !== undefined && !fe.message.includes(hint)) process.stderr.write(`  hint: ${hint}\n`);
  }
  return fe.kind === 'Unavailable' ? 3 : 1;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Plain aligned columns, like `kubectl get`: no borders, easy to grep. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  process.stdout.write(line(headers) + '\n');
  for (const row of rows) process.stdout.write(line(row) + '\n');
}
