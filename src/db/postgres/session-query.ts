import pg from 'pg';

/** The parts of pg's Query and Connection we drive; pg documents Query as a Submittable. */
interface WireConnection {
  parse(config: { text: string; name?: string; types?: unknown[] }): void;
  bind(config: { portal?: string; statement?: string; values?: unknown[]; binary?: boolean; valueMapper?: (value: unknown) => unknown }): void;
  execute(config: { portal?: string; rows?: number }): void;
}
interface QueryInternals {
  prepare(connection: WireConnection): void;
  handleRowDescription(message: unknown): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
}
type QueryClass = new (config: pg.QueryConfig, values?: unknown[], callback?: (error: Error | null, result: pg.QueryResult) => void) => QueryInternals;

/**
 * A guest statement preceded by the session setup, sent as one pipeline: Parse/Bind/Execute of the
 * setup, Parse/Bind/Describe/Execute of the statement, then one Sync. Everything before a Sync is
 * one implicit transaction, so the setup's transaction-local settings (role, claims, timeout)
 * hold for the statement and end with it — the same as BEGIN … COMMIT in one round trip instead
 * of four. The setup's own rows are dropped; the callback sees only the statement's result.
 */
export function sessionQuery(
  setup: { readonly text: string; readonly values: readonly (string | null)[] },
  statement: { readonly text: string; readonly values: unknown[] },
  callback: (error: Error | null, result: pg.QueryResult) => void,
): unknown {
  const Base = pg.Query as unknown as QueryClass;
  class SessionQuery extends Base {
    private setupDone = false;

    override prepare(connection: WireConnection): void {
      connection.parse({ text: setup.text, name: '', types: [] });
      connection.bind({ portal: '', statement: '', values: [...setup.values], binary: false, valueMapper: (value) => value });
      connection.execute({ portal: '', rows: 0 });
      super.prepare(connection);
    }

    override handleRowDescription(message: unknown): void {
      if (this.setupDone) super.handleRowDescription(message);
    }

    override handleDataRow(message: unknown): void {
      if (this.setupDone) super.handleDataRow(message);
    }

    override handleCommandComplete(message: unknown, connection: WireConnection): void {
      if (this.setupDone) super.handleCommandComplete(message, connection);
      else this.setupDone = true;
    }
  }
  return new SessionQuery({ text: statement.text, values: statement.values, queryMode: 'extended' } as pg.QueryConfig, undefined, callback);
}
