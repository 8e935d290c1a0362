import type { MessagePort } from 'node:worker_threads';
import type { AeroConfig } from '../config/index.js';
import type { InvocationRecord } from '../invoker/index.js';
import type { FunctionDefinition } from '../registry/index.js';
import type { HostFunctionName } from '../wasm/index.js';
import type { TopologyDescription } from './topology.js';

/** What a stream thread starts with (workerData). The ports are transferred with it. */
export interface StreamThreadInit {
  readonly index: number;
  readonly logPort: MessagePort;
  readonly logKind: 'embedded' | 'kafka';
  readonly hostPort: MessagePort;
  readonly hostFunctions: readonly HostFunctionName[];
  readonly pipeline: AeroConfig['pipeline'];
  readonly sandbox: AeroConfig['sandbox'];
  readonly instanceId: string;
  readonly topicPrefix: string;
  readonly drainTimeoutMs: number;
  readonly maxBatch?: number;
  readonly metricsIntervalMs?: number;
  readonly logLevel: string;
  readonly logBindings: Record<string, unknown>;
  readonly functions: readonly FunctionDefinition[];
}

/** The parts of a record that /metrics counts: what the main thread's invocation metrics observe. */
export type InvocationSummary = Pick<InvocationRecord, 'function' | 'trigger' | 'outcome' | 'durationMs' | 'memoryBytes' | 'journal'>;

export type ToStreamThread =
  | { readonly type: 'start' }
  | { readonly type: 'stop' }
  | { readonly type: 'functions'; readonly functions: readonly FunctionDefinition[] }
  | { readonly type: 'module'; readonly id: number; readonly bytes?: Uint8Array; readonly error?: string }
  | { readonly type: 'describe'; readonly id: number }
  | { readonly type: 'recent'; readonly id: number; readonly name: string; readonly limit: number };

export type FromStreamThread =
  | { readonly type: 'started'; readonly text: string }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly name: string; readonly message: string }
  | { readonly type: 'module'; readonly id: number; readonly sha256: string }
  | { readonly type: 'described'; readonly id: number; readonly description: TopologyDescription; readonly samples: Record<string, number[]> }
  | { readonly type: 'recent'; readonly id: number; readonly records: InvocationRecord[] }
  | { readonly type: 'summaries'; readonly summaries: InvocationSummary[] };
