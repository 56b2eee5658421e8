/**
 * A statement run by name. On Postgres each pooled connection parses it once (the first time it
 * runs there), and once its generic plan costs no more than a custom one Postgres stops planning
 * it too: a hot read then costs its execution only. Kysely sends every query as a new unnamed
 * statement — parsed and planned on every call, which for a short keyset page costs more than
 * running it.
 *
 * The text must not change under a name (a shape of query is one name), and what decides the plan
 * must be in the text: constants the planner should see (a `LIMIT`, an `IN` list, a partial
 * index's predicate) as literals, only the values that vary per call as `$n` parameters — a
 * parameter where the planner needs a value can make the generic plan a bad one. Every name is
 * kept on every connection for the connection's life: names must come from a small fixed set,
 * never from request input.
 *
 * @example
 * ```ts
 * const ONE_JOB: PreparedStatement = { name: 'one_job', text: 'select * from sync_jobs where id = $1' };
 * const [job] = await omniDb.prepared<SyncJob>(ONE_JOB, [jobId]);
 * ```
 */
export interface PreparedStatement {
  /** Unique per text, from a fixed set. */
  readonly name: string;
  /** The SQL, with `$1`… for the values. */
  readonly text: string;
}

/**
 * Runs a {@link PreparedStatement} with its values and answers its rows as objects keyed by column
 * name: `text`, `uuid` and casts to text as strings, `boolean` as booleans (other types as the
 * engine's driver parses them — cast to text in the statement what should not be parsed).
 */
export type RunPrepared = <R extends object>(
  statement: PreparedStatement,
  values: readonly unknown[],
) => Promise<R[]>;
