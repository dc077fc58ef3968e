/**
 * Schema migrations for a Durable Object's SQLite storage, run from its constructor. SQLite-backed
 * objects do not support `PRAGMA user_version`, so applied steps are recorded in
 * `_sql_schema_migrations` (version = position in the list, from 1). Each step commits together
 * with its record, so an object evicted half-way resumes at the first step it did not finish.
 * Steps are append-only, like migrations/: never edit one that has shipped, add another.
 * A step is SQL, or a function for what SQL cannot say conditionally (e.g. add a column if missing).
 * Objects created before their class recorded versions run every step again: those steps must be
 * idempotent (`CREATE TABLE IF NOT EXISTS`).
 */
export type StorageMigration = string | ((sql: SqlStorage) => void);

export function migrateStorage(storage: DurableObjectStorage, steps: readonly StorageMigration[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _sql_schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const done = Number(sql.exec("SELECT coalesce(max(version), 0) AS v FROM _sql_schema_migrations").one().v);
  for (let v = done; v < steps.length; v++) {
    const step = steps[v]!;
    storage.transactionSync(() => {
      if (typeof step === "string") sql.exec(step);
      else step(sql);
      sql.exec("INSERT INTO _sql_schema_migrations (version, applied_at) VALUES (?, ?)", v + 1, Date.now());
    });
  }
}
