/**
 * Guest statements prepared once per session (a PGlite instance, a PostgreSQL connection), as
 * PostgREST and the JDBC driver do: the same text is parsed and analysed once and then only bound
 * and executed. With RLS that roughly halves a short statement (docs/database.md). PostgreSQL's
 * plan cache keeps this safe across callers: a plan is redone when the role changes, and
 * `auth.uid()` & co. read the claims when the statement runs, not when it was planned.
 *
 * Kept per session in least-recently-used order up to `capacity` names; an evicted one is closed
 * in the next pipeline. A statement whose pipeline failed may or may not exist on the server (a
 * syntax error never created it, an execution error did), so it is closed and parsed again on its
 * next use — closing a statement that does not exist is not an error.
 */
export interface PreparedUse {
  /** The server-side name to bind. */
  readonly name: string;
  /** Whether this pipeline must Parse it (first use, or after a failure). */
  readonly parse: boolean;
  /** Names to Close at the start of this pipeline (evicted, or to be parsed again). */
  readonly close: readonly string[];
}

interface Entry {
  readonly name: string;
  /** `ready`: it exists; `parsing`: a Parse is on its way; `unknown`: a pipeline with it failed. */
  state: 'ready' | 'parsing' | 'unknown';
}

export class PreparedStatements {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private evicted: string[] = [];
  private counter = 0;

  constructor(
    private readonly capacity: number,
    private readonly prefix = 'aerofn_stmt_',
  ) {}

  /** The statement for `sql`, or undefined when preparing is off (capacity 0). */
  use(sql: string): PreparedUse | undefined {
    if (this.capacity <= 0) return undefined;
    let entry = this.entries.get(sql);
    const close = this.evicted;
    this.evicted = [];
    if (entry !== undefined) {
      this.entries.delete(sql);
      this.entries.set(sql, entry);
      if (entry.state === 'ready') return { name: entry.name, parse: false, close };
      close.push(entry.name);
      entry.state = 'parsing';
      return { name: entry.name, parse: true, close };
    }
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      close.push((this.entries.get(oldest) as Entry).name);
      this.entries.delete(oldest);
    }
    entry = { name: `${this.prefix}${this.counter++}`, state: 'parsing' };
    this.entries.set(sql, entry);
    return { name: entry.name, parse: true, close };
  }

  /** The pipeline that used `sql` succeeded: its statement exists. */
  succeeded(sql: string): void {
    const entry = this.entries.get(sql);
    if (entry !== undefined) entry.state = 'ready';
  }

  /** The pipeline that used `sql` failed (or the connection state is unknown): parse it again next time. */
  failed(sql: string): void {
    const entry = this.entries.get(sql);
    if (entry !== undefined) entry.state = 'unknown';
  }

  /** The names closed in a pipeline that failed before its Closes ran are closed again next time. */
  closeLater(names: readonly string[]): void {
    this.evicted.push(...names);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * SQLSTATE 0A000 "cached plan must not change result type": a table under a prepared statement
 * changed shape (ALTER TABLE). Nothing ran, so the caller drops the statement and runs once more.
 */
export function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}
