import pg from 'pg';
import { answerTooLarge } from '../guest-request.js';
import { PreparedStatements } from '../prepared-statements.js';

/** The parts of pg's Query and Connection we drive; pg documents Query as a Submittable. */
interface WireConnection {
  close(config: { type: 'S' | 'P'; name?: string }): void;
  parse(config: { text: string; name?: string; types?: unknown[] }): void;
  bind(config: { portal?: string; statement?: string; values?: unknown[]; binary?: boolean; valueMapper?: (value: unknown) => unknown }): void;
  execute(config: { portal?: string; rows?: number }): void;
  sync(): void;
  flush(): void;
  /** pg's own record of the named statements it parsed on this connection (it skips their Parse). */
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
}
interface QueryInternals {
  name?: string;
  portal?: string;
  /** The result so far (rows, and rowCount once the command completed). */
  _result: pg.QueryResult;
  prepare(connection: WireConnection): void;
  /** Sends the Execute, then a Sync (all rows) or a Flush (a page of `rows`). */
  _getRows(connection: WireConnection, rows?: number): void;
  handleEmptyQuery(connection: WireConnection): void;
  handleRowDescription(message: unknown): void;
  handleDataRow(message: unknown): void;
  /** pg drops the rows after it is set and fails the query with it at ReadyForQuery. */
  _canceledDueToError: Error | false | undefined;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
  handleError(error: Error, connection: WireConnection): void;
}
type QueryClass = new (config: pg.QueryConfig, values?: unknown[], callback?: (error: Error | null, result: pg.QueryResult) => void) => QueryInternals;

/** The name of the setup statement, prepared once per connection. */
export const setupStatementName = 'aerofn_session_setup';

/**
 * Per connection: `ready` once the named setup statement ran on it; `unknown` after a pipeline that
 * sent its Parse failed before the setup completed (it may or may not exist then, so it is closed
 * and parsed again — closing a statement that does not exist is not an error).
 */
const setupState = new WeakMap<WireConnection, 'ready' | 'unknown'>();
/** Per connection: the guest statements prepared on it (see prepared-statements.ts). */
const guestStatements = new WeakMap<WireConnection, PreparedStatements>();

function statementsOf(connection: WireConnection, capacity: number): PreparedStatements {
  let statements = guestStatements.get(connection);
  if (statements === undefined) guestStatements.set(connection, (statements = new PreparedStatements(capacity)));
  return statements;
}

/**
 * A guest statement preceded by the session setup, sent as one pipeline: Bind/Execute of the
 * setup, Parse/Bind/Describe/Execute of the statement, then one Sync. Everything before a Sync is
 * one implicit transaction, so the setup's transaction-local settings (role, claims, timeout)
 * hold for the statement and end with it — the same as BEGIN … COMMIT in one round trip instead
 * of four. The setup is a named statement, parsed and planned once per connection (it is always
 * the same text; only its parameters change), which saves PostgreSQL a parse and plan per call.
 * Prepared statements are not transactional and guests cannot DEALLOCATE (the statement guard),
 * so once parsed it stays. The guest statement is named too when `preparedStatements` > 0 (up
 * to that many per connection, least recently used closed first). The setup's own rows are
 * dropped; the callback sees only the statement's result.
 */
export function sessionQuery(
  setup: { readonly text: string; readonly values: readonly (string | null)[] },
  statement: { readonly text: string; readonly values: unknown[] },
  preparedStatements: number,
  callback: (error: Error | null, result: pg.QueryResult) => void,
  maxAnswerBytes?: number,
  refuse?: (result: pg.QueryResult) => Error | undefined,
): unknown {
  const Base = pg.Query as unknown as QueryClass;
  class SessionQuery extends Base {
    private setupDone = false;
    /** Wire bytes of the rows kept so far (DataRow message lengths). */
    private answerBytes = 0;
    private connection: WireConnection | undefined;
    private statements: PreparedStatements | undefined;
    /** Sync sent: the implicit transaction ends (commits, or rolls back after an error). */
    private ended = refuse === undefined;
    /** Our own erroring Execute is rolling the statement back (its error is not the statement's). */
    private rollingBack = false;

    /**
     * With `refuse`: a Flush instead of the Sync, so the statement's transaction stays open until
     * its rows are judged at CommandComplete (end). Without it the Sync goes with the Execute.
     */
    override _getRows(connection: WireConnection, rows?: number): void {
      if (this.ended) {
        super._getRows(connection, rows);
        return;
      }
      connection.execute({ portal: this.portal ?? '', ...(rows === undefined ? {} : { rows }) });
      connection.flush();
    }

    /** Commits (Sync), or rolls back: an Execute of a portal that does not exist fails, and the Sync after it rolls back. */
    private end(connection: WireConnection, refusal: Error | undefined): void {
      this.ended = true;
      if (refusal === undefined) {
        connection.sync();
        return;
      }
      this._canceledDueToError = refusal;
      this.rollingBack = true;
      connection.execute({ portal: 'aerofn_rollback' });
      connection.sync();
    }

    override prepare(connection: WireConnection): void {
      this.connection = connection;
      const statements = (this.statements = statementsOf(connection, preparedStatements));
      const prepared = statements.use(statement.text);
      for (const name of prepared?.close ?? []) {
        connection.close({ type: 'S', name });
        delete connection.parsedStatements[name];
      }
      if (prepared !== undefined) {
        // pg parses a named statement unless it saw it parsed; our record decides, so keep its in step.
        this.name = prepared.name;
        delete connection.submittedNamedStatements[prepared.name];
        if (prepared.parse) delete connection.parsedStatements[prepared.name];
        else connection.parsedStatements[prepared.name] = statement.text;
      }
      const state = setupState.get(connection);
      if (state !== 'ready') {
        if (state === 'unknown') connection.close({ type: 'S', name: setupStatementName });
        connection.parse({ text: setup.text, name: setupStatementName, types: [] });
        setupState.set(connection, 'unknown');
      }
      connection.bind({ portal: '', statement: setupStatementName, values: [...setup.values], binary: false, valueMapper: (value) => value });
      connection.execute({ portal: '', rows: 0 });
      super.prepare(connection);
    }

    override handleRowDescription(message: unknown): void {
      if (this.setupDone) super.handleRowDescription(message);
    }

    override handleDataRow(message: unknown): void {
      if (!this.setupDone) return;
      if (maxAnswerBytes !== undefined && !this._canceledDueToError) {
        // Past the cap the rest of the answer is read off the socket and dropped, so a statement
        // that selects gigabytes costs the main thread at most the cap, not the answer.
        this.answerBytes += (message as { length: number }).length;
        if (this.answerBytes > maxAnswerBytes) {
          this._canceledDueToError = answerTooLarge(maxAnswerBytes);
          return;
        }
      }
      super.handleDataRow(message);
    }

    override handleError(error: Error, connection: WireConnection): void {
      // The server skips everything up to a Sync after an error: one must follow, or the next
      // statement on this connection would be skipped too.
      if (!this.ended) {
        this.ended = true;
        connection.sync();
      }
      if (!this.rollingBack) {
        // Failed before the setup completed: it may be missing (say, deallocated), so parse it again next time.
        if (!this.setupDone && this.connection !== undefined) setupState.set(this.connection, 'unknown');
        this.statements?.failed(statement.text);
      }
      super.handleError(error, connection);
    }

    override handleEmptyQuery(connection: WireConnection): void {
      if (!this.ended) this.end(connection, undefined);
      super.handleEmptyQuery(connection);
    }

    override handleCommandComplete(message: unknown, connection: WireConnection): void {
      if (this.setupDone) {
        this.statements?.succeeded(statement.text);
        super.handleCommandComplete(message, connection);
        if (!this.ended) {
          // Rows dropped past the wire cap, a row pg could not parse, or an answer `refuse` judges too large: roll back.
          const overCap = maxAnswerBytes !== undefined && this.answerBytes > maxAnswerBytes;
          this.end(connection, overCap ? answerTooLarge(maxAnswerBytes, true) : this._canceledDueToError || refuse?.(this._result));
        }
        return;
      }
      this.setupDone = true;
      if (this.connection !== undefined) setupState.set(this.connection, 'ready');
    }
  }
  return new SessionQuery({ text: statement.text, values: statement.values, queryMode: 'extended' } as pg.QueryConfig, undefined, callback);
}
