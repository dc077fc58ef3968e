/**
 * Writes one batch to the target in ONE statement (one round trip): the rows of every target table
 * the batch feeds, its quarantine entries and the step's progress cursor. A single statement is
 * atomic, so an interrupted run never leaves a batch half-written or its cursor out of step: the
 * next run resumes after the last committed batch.
 *
 * Per target table the statement decides, row by row, in this order:
 * - `existing`: a row with this key is already there (an earlier run): nothing is written;
 * - `orphaned`: a parent it needs is not in the target (quarantined upstream, or never existed);
 * - `written`: inserted;
 * - `conflicted`: refused by a unique rule (ON CONFLICT DO NOTHING covers every unique index and
 *   constraint of the table, partial ones included), e.g. a second open booking for one slot.
 * Orphans and conflicts become quarantine entries with the reason; nothing is dropped silently.
 * CHECK, FK and trigger rules are not caught here: the steps shape rows to satisfy them, and if one
 * still fails the importer bisects the batch and quarantines the single rows the database refused.
 */
import type pg from "pg";

export type Action = "skipped" | "corrected" | "imported_as_deleted" | "flagged";

/** One line of the quarantine report. `skipped` rows are not imported; the others are, changed or marked. */
export type QuarantineEntry = {
  sourceTable: string;
  sourceId: string;
  reason: string;
  action: Action;
  detail: Record<string, unknown>;
};

export type Column = readonly [name: string, type: string];

/**
 * Rows for one target table, keyed by its column names (their types come from the target's catalogue,
 * see `columnTypes`). Every row carries `_sid`, the source row it came from (for quarantine entries).
 */
export type TableWrite = {
  table: string;
  sourceTable: string;
  rows: Array<Record<string, unknown> & { _sid: string }>;
  /** Key column used to recognise rows an earlier run wrote (default `id`). */
  key?: string;
  /**
   * SQL boolean over the input row `i`: every parent row exists. `earlier(k)` names the keys written
   * (or already present) for write #k of the same batch, for parents inserted by this statement.
   */
  parentsExist?: (earlier: (k: number) => string) => string;
  /** SQL jsonb over `i` describing an orphan (which parent is missing). */
  orphanDetail?: string;
  /** SQL jsonb over `i` describing a unique conflict (which rule). */
  conflictDetail?: string;
  /** Insert-select expressions overriding `i.<column>` for some columns. */
  exprs?: Record<string, string>;
  /**
   * Row triggers of this table that only bump the public catalogue's cache version
   * (`*_listings_version`, migration 0005). They cost a query per row; a batch runs with them
   * disabled inside its own transaction and bumps every category's version once instead (when it
   * inserted anything), which is what the cache needs: a new version when the change commits.
   */
  cacheTriggers?: string[];
};

export type BatchCounts = Record<string, number>;

/** Column types of the target's tables (`public` schema), read once per run. */
export type ColumnTypes = Map<string, Map<string, string>>;

export async function columnTypes(client: pg.Client): Promise<ColumnTypes> {
  const { rows } = await client.query(
    `SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
  );
  const out: ColumnTypes = new Map();
  for (const r of rows) {
    if (!out.has(r.t)) out.set(r.t, new Map());
    out.get(r.t)!.set(r.col, r.type);
  }
  return out;
}

/** The columns a write fills: its rows' keys (every row has the same), or the whole table when it has none. */
function columnsOf(w: TableWrite, types: ColumnTypes): Column[] {
  const table = types.get(w.table);
  if (!table) throw new Error(`target table ${w.table} does not exist (migrations not applied?)`);
  const names = w.rows.length ? Object.keys(w.rows[0]!).filter((k) => k !== "_sid") : [...table.keys()];
  return names.map((n) => {
    const t = table.get(n);
    if (!t) throw new Error(`target table ${w.table} has no column ${n}`);
    return [n, t] as const;
  });
}

/** Single quotes doubled: the target session runs with standard_conforming_strings=on (set at connect). */
export function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const QUARANTINE_COLUMNS: readonly Column[] = [
  ["source_table", "text"],
  ["source_id", "text"],
  ["reason", "text"],
  ["action", "text"],
  ["detail", "jsonb"],
];

// json (not jsonb): parsed once as the rows are produced, without building a jsonb value first.
function recordset(json: string, columns: readonly Column[]): string {
  const defs = columns.map(([n, t]) => `${n} ${t}`).join(", ");
  return `json_to_recordset(${literal(json)}::json) AS r(${defs})`;
}

/**
 * The statement for one batch. `progress` (step and cursor) is omitted for the sub-batches of a
 * bisection, whose totals are booked by a final statement.
 */
export function batchStatement(opts: {
  runId: number;
  types: ColumnTypes;
  writes: TableWrite[];
  quarantine: QuarantineEntry[];
  progress?: { step: string; lastKey: string; delta: BatchCounts };
}): string {
  const { runId, writes } = opts;
  const ctes: string[] = [];
  const counts: string[] = [];
  const quarantineSelects: string[] = [];
  const cleanups: string[] = [];
  writes.forEach((w, k) => {
    const key = w.key ?? "id";
    const columns = columnsOf(w, opts.types);
    const cols = columns.map(([n]) => n);
    const inputCols: Column[] = [["_sid", "text"], ...columns];
    const earlier = (j: number) => `(SELECT k FROM ins_${j} UNION ALL SELECT k FROM pre_${j})`;
    const parents = w.parentsExist ? w.parentsExist(earlier) : "true";
    ctes.push(
      `in_${k} AS (SELECT * FROM ${recordset(JSON.stringify(w.rows), inputCols)})`,
      `pre_${k} AS (SELECT i.${key} AS k FROM in_${k} i WHERE EXISTS (SELECT 1 FROM ${w.table} t WHERE t.${key} = i.${key}))`,
      `orph_${k} AS (SELECT i._sid, i.${key} AS k, ${w.orphanDetail ?? "'{}'::jsonb"} AS detail FROM in_${k} i
         WHERE i.${key} NOT IN (SELECT k FROM pre_${k}) AND NOT (${parents}))`,
      `ins_${k} AS (INSERT INTO ${w.table} (${cols.join(", ")})
         SELECT ${cols.map((c) => w.exprs?.[c] ?? `i.${c}`).join(", ")} FROM in_${k} i
          WHERE i.${key} NOT IN (SELECT k FROM pre_${k}) AND i.${key} NOT IN (SELECT k FROM orph_${k})
         ON CONFLICT DO NOTHING RETURNING ${key} AS k)`,
      `conf_${k} AS (SELECT i._sid, ${w.conflictDetail ?? "'{}'::jsonb"} AS detail FROM in_${k} i
         WHERE i.${key} NOT IN (SELECT k FROM pre_${k}) AND i.${key} NOT IN (SELECT k FROM orph_${k})
           AND i.${key} NOT IN (SELECT k FROM ins_${k}))`,
    );
    const t = w.table;
    counts.push(
      `'${t}.written', (SELECT count(*) FROM ins_${k})`,
      `'${t}.existing', (SELECT count(*) FROM pre_${k})`,
      `'${t}.orphaned', (SELECT count(*) FROM orph_${k})`,
      `'${t}.conflicted', (SELECT count(*) FROM conf_${k})`,
    );
    quarantineSelects.push(
      `SELECT ${literal(w.sourceTable)}::text, _sid, 'parent_not_imported'::text, 'skipped'::text, detail FROM orph_${k}`,
      `SELECT ${literal(w.sourceTable)}::text, _sid, 'conflicts_with_target'::text, 'skipped'::text, detail FROM conf_${k}`,
    );
    // A row imported now may have been quarantined by an earlier run (its parent was missing then).
    cleanups.push(`SELECT ${literal(w.sourceTable)} AS source_table, i._sid FROM in_${k} i WHERE i.${key} IN (SELECT k FROM ins_${k})`);
  });
  if (opts.quarantine.length) {
    const rows = opts.quarantine.map((q) => ({
      source_table: q.sourceTable,
      source_id: q.sourceId,
      reason: q.reason,
      action: q.action,
      detail: q.detail,
    }));
    quarantineSelects.unshift(`SELECT * FROM ${recordset(JSON.stringify(rows), QUARANTINE_COLUMNS)}`);
  }
  if (quarantineSelects.length) {
    ctes.push(
      `q AS (INSERT INTO legacy_import.quarantine (source_table, source_id, reason, action, detail, run_id)
         SELECT s.*, ${runId} FROM (${quarantineSelects.join(" UNION ALL ")}) s
         ON CONFLICT (source_table, source_id, reason) DO NOTHING RETURNING 1)`,
    );
  }
  if (cleanups.length) {
    ctes.push(
      `unq AS (DELETE FROM legacy_import.quarantine x USING (${cleanups.join(" UNION ALL ")}) c
         WHERE x.source_table = c.source_table AND x.source_id = c._sid AND x.action = 'skipped' RETURNING 1)`,
    );
  }
  const bumps = writes.flatMap((w, k) => (w.cacheTriggers?.length ? [`(SELECT count(*) FROM ins_${k})`] : []));
  if (bumps.length) {
    // What the cache-bump triggers would have done, once, and only if something was inserted.
    ctes.push(`bump AS (UPDATE services_master SET listings_version = listings_version + 1 WHERE ${bumps.join(" + ")} > 0 RETURNING 1)`);
  }
  const countsJson = counts.length ? `jsonb_build_object(${counts.join(", ")})` : "'{}'::jsonb";
  if (opts.progress) {
    const p = opts.progress;
    ctes.push(
      `prog AS (UPDATE legacy_import.progress
          SET last_key = ${literal(p.lastKey)}, updated_at = now(),
              stats = legacy_import.bump(legacy_import.bump(stats, ${literal(JSON.stringify(p.delta))}::jsonb), ${countsJson})
        WHERE run_id = ${runId} AND step = ${literal(p.step)} RETURNING 1)`,
    );
  }
  return ctes.length ? `WITH ${ctes.join(",\n")}\nSELECT ${countsJson} AS counts` : `SELECT ${countsJson} AS counts`;
}

/** Books a bisected batch: its quarantine entries and cursor, with the totals the sub-batches returned. */
export function progressStatement(runId: number, step: string, lastKey: string, delta: BatchCounts, quarantine: QuarantineEntry[]): string {
  return batchStatement({ runId, types: new Map(), writes: [], quarantine, progress: { step, lastKey, delta } });
}

export type Executor = (sql: string, writes?: TableWrite[]) => Promise<BatchCounts>;

/**
 * Runs a batch as one simple-protocol round trip. Inside a long transaction (dry run, strict) it is
 * wrapped in a savepoint so a refused batch can be retried in halves without losing the run.
 * Otherwise, when its tables have cache-bump triggers, it runs in a transaction that disables them
 * for this batch only (transactional DDL: a crash re-enables them; the table is locked for the
 * batch's duration) while the statement bumps the catalogue's cache version once.
 */
export function executor(client: pg.Client, inTransaction: boolean): Executor {
  // Never inside the long transaction of a dry run or strict run: its lock would last the whole run.
  let quietAllowed = !inTransaction;
  return async (sql, writes = []) => {
    const quiet = quietAllowed ? writes.filter((w) => w.rows.length).flatMap((w) => (w.cacheTriggers ?? []).map((t) => [w.table, t])) : [];
    const toggle = (on: boolean) => quiet.map(([table, t]) => `ALTER TABLE ${table} ${on ? "ENABLE" : "DISABLE"} TRIGGER ${t};`).join(" ");
    const body = quiet.length ? `${toggle(false)} ${sql}; ${toggle(true)}` : `${sql};`;
    const text = inTransaction ? `SAVEPOINT batch; ${body} RELEASE SAVEPOINT batch` : quiet.length ? `BEGIN; ${body} COMMIT` : sql;
    try {
      const res = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      const results = Array.isArray(res) ? res : [res];
      const withRows = results.find((r) => r.rows?.length && "counts" in r.rows[0]);
      const counts = withRows?.rows[0]?.counts ?? {};
      return (typeof counts === "string" ? JSON.parse(counts) : counts) as BatchCounts;
    } catch (err) {
      if (inTransaction) await client.query("ROLLBACK TO SAVEPOINT batch");
      else if (quiet.length) await client.query("ROLLBACK");
      // Not the tables' owner: keep the triggers (slower, same result).
      if (quiet.length && (err as { code?: string }).code === "42501") {
        quietAllowed = false;
        return executor(client, inTransaction)(sql, []);
      }
      throw err;
    }
  };
}

export function addCounts(a: BatchCounts, b: BatchCounts): BatchCounts {
  const out: BatchCounts = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + Number(v);
  return out;
}
