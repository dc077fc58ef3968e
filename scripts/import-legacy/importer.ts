/**
 * The legacy import: streams every old table through its step (scripts/import-legacy/steps.ts) into
 * our schema, then verifies source against target and writes the report.
 *
 * Modes:
 * - `import` (default): each batch commits on its own (one statement), so memory stays flat and an
 *   interrupted run resumes where it stopped: the next run finds the unfinished run in
 *   `legacy_import.runs` and continues each step after its last committed key.
 * - `dry-run`: the same work inside one transaction that is rolled back after verification: an exact
 *   preview (counts, quarantine, invariants) that leaves the target untouched.
 * - `strict`: one transaction, committed only if the source is clean; the first dirty row fails it.
 *
 * State lives in the target's `legacy_import` schema (runs, per-step progress, the quarantine), not
 * in our application schema; drop it once the switch-over is done.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { IST, istDate } from "./legacy.ts";
import { type ImportReport, type StepStats, writeReport } from "./report.ts";
import { type Catalogue, type Ctx, type Output, type Row, STEPS, type Step } from "./steps.ts";
import { verify } from "./verify.ts";
import {
  addCounts,
  type BatchCounts,
  batchStatement,
  type ColumnTypes,
  columnTypes,
  type Executor,
  executor,
  literal,
  progressStatement,
  type QuarantineEntry,
  type TableWrite,
} from "./writer.ts";

export type Mode = "import" | "dry-run" | "strict";

export type ImportOptions = {
  from: string;
  to: string;
  mode?: Mode;
  batchSize?: number;
  /** Where report.json, report.md and quarantine.jsonl go. */
  reportDir: string;
  /** Zone of the old Node server (columns it filled from JavaScript Dates). Default UTC. */
  nodeTz?: string;
  /** Called after every committed batch; the CLI draws its progress lines with it. */
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
};

export type Progress = { step: string; read: number; total: number; stats: BatchCounts; done: boolean; elapsedMs: number };

export class StrictViolation extends Error {
  readonly entries: QuarantineEntry[];
  constructor(entries: QuarantineEntry[]) {
    const first = entries[0];
    super(
      `--strict: the source holds rows that cannot be imported as they are (first: ${first?.sourceTable} ${first?.sourceId}: ${first?.reason})`,
    );
    this.entries = entries;
  }
}

const LOCK = "pg_try_advisory_lock(hashtext('buildxpert.legacy_import'))";

const STATE_DDL = `
CREATE SCHEMA IF NOT EXISTS legacy_import;
CREATE TABLE IF NOT EXISTS legacy_import.runs (
  id bigserial PRIMARY KEY,
  source text NOT NULL,
  mode text NOT NULL,
  as_of timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  report jsonb
);
CREATE TABLE IF NOT EXISTS legacy_import.progress (
  run_id bigint NOT NULL REFERENCES legacy_import.runs (id),
  step text NOT NULL,
  last_key text,
  done boolean NOT NULL DEFAULT false,
  stats jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS legacy_import.quarantine (
  source_table text NOT NULL,
  source_id text NOT NULL,
  reason text NOT NULL,
  action text NOT NULL CHECK (action IN ('skipped', 'corrected', 'imported_as_deleted', 'flagged')),
  detail jsonb NOT NULL DEFAULT '{}',
  run_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_table, source_id, reason)
);
CREATE OR REPLACE FUNCTION legacy_import.bump(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(k, coalesce((a ->> k)::bigint, 0) + coalesce((b ->> k)::bigint, 0)), '{}'::jsonb)
    FROM (SELECT jsonb_object_keys(coalesce(a, '{}')) AS k UNION SELECT jsonb_object_keys(coalesce(b, '{}'))) keys
$$;`;

async function connect(url: string, name: string, readOnly: boolean): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: name });
  client.on("error", () => {}); // surfaced by the next query
  await client.connect();
  // Text timestamps render in UTC; quoting in writer.ts relies on standard strings.
  await client.query(
    `SET TimeZone = 'UTC'; SET standard_conforming_strings = on; SET statement_timeout = 0; SET client_min_messages = warning;${
      readOnly ? " SET default_transaction_read_only = on;" : ""
    }`,
  );
  return client;
}

/** host:port/database, never the password: identifies the source a run belongs to. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

async function loadCatalogue(dst: pg.Client): Promise<Catalogue> {
  const services = await dst.query("SELECT id, name, listing_validity_days, is_paid FROM services_master");
  if (!services.rowCount)
    throw new Error("The target has no service catalogue; migrate and seed it first (npm run db:migrate, npm run db:seed).");
  const subs = await dst.query("SELECT id, service_id, slug, name FROM sub_services");
  return {
    services: new Map(services.rows.map((r) => [r.name, { id: r.id, validityDays: r.listing_validity_days, isPaid: r.is_paid }])),
    subs: new Map(subs.rows.map((r) => [`${r.service_id}:${r.slug}`, { id: r.id, name: r.name }])),
  };
}

type RunState = {
  runId: number;
  asOf: string;
  resumed: boolean;
  progress: Map<string, { lastKey: string | null; done: boolean; stats: BatchCounts }>;
};

async function openRun(dst: pg.Client, source: string, mode: Mode): Promise<RunState> {
  if (mode === "import") {
    const { rows } = await dst.query("SELECT id, source, as_of FROM legacy_import.runs WHERE mode = 'import' ORDER BY id DESC LIMIT 1");
    const last = rows[0];
    const unfinished =
      last && (await dst.query("SELECT 1 FROM legacy_import.runs WHERE id = $1 AND finished_at IS NULL", [last.id])).rowCount;
    if (last && unfinished && last.source === source) {
      const progress = await dst.query("SELECT step, last_key, done, stats FROM legacy_import.progress WHERE run_id = $1", [last.id]);
      const state: RunState = { runId: Number(last.id), asOf: new Date(last.as_of).toISOString(), resumed: true, progress: new Map() };
      for (const p of progress.rows) state.progress.set(p.step, { lastKey: p.last_key, done: p.done, stats: p.stats });
      for (const s of STEPS) {
        if (!state.progress.has(s.name)) {
          await dst.query("INSERT INTO legacy_import.progress (run_id, step) VALUES ($1, $2)", [state.runId, s.name]);
          state.progress.set(s.name, { lastKey: null, done: false, stats: {} });
        }
      }
      return state;
    }
  }
  const { rows } = await dst.query("INSERT INTO legacy_import.runs (source, mode, as_of) VALUES ($1, $2, now()) RETURNING id, as_of", [
    source,
    mode,
  ]);
  const runId = Number(rows[0].id);
  await dst.query("INSERT INTO legacy_import.progress (run_id, step) SELECT $1, unnest($2::text[])", [runId, STEPS.map((s) => s.name)]);
  return {
    runId,
    asOf: new Date(rows[0].as_of).toISOString(),
    resumed: false,
    progress: new Map(STEPS.map((s) => [s.name, { lastKey: null, done: false, stats: {} }])),
  };
}

const isConnectionError = (err: unknown) => {
  const code = (err as { code?: string })?.code;
  return !code || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith("08") || code.startsWith("57");
};

/** Counts the outcome of a batch's TS-side decisions: rows read and each quarantine action. */
function decisionDelta(read: number, quarantine: QuarantineEntry[]): BatchCounts {
  const d: BatchCounts = { read };
  for (const q of quarantine) d[q.action] = (d[q.action] ?? 0) + 1;
  return d;
}

/** Rows of the writes that came from these source rows. */
function subset(writes: TableWrite[], sids: Set<string>): TableWrite[] {
  return writes.map((w) => ({ ...w, rows: w.rows.filter((r) => sids.has(r._sid)) }));
}

/**
 * A batch the database refused (a CHECK, FK or trigger the step did not foresee): retried in halves
 * until the single refused rows are found; those are quarantined with the database's reason.
 */
async function bisect(
  exec: Executor,
  runId: number,
  types: ColumnTypes,
  writes: TableWrite[],
): Promise<{ counts: BatchCounts; rejected: QuarantineEntry[] }> {
  const sids = [...new Set(writes.flatMap((w) => w.rows.map((r) => r._sid)))];
  let counts: BatchCounts = {};
  const rejected: QuarantineEntry[] = [];
  const attempt = async (part: string[]): Promise<void> => {
    if (!part.length) return;
    try {
      const some = subset(writes, new Set(part));
      counts = addCounts(counts, await exec(batchStatement({ runId, types, writes: some, quarantine: [] }), some));
    } catch (err) {
      if (isConnectionError(err)) throw err;
      if (part.length === 1) {
        const e = err as { message?: string; constraint?: string; table?: string };
        const w = writes.find((x) => x.rows.some((r) => r._sid === part[0]))!;
        rejected.push({
          sourceTable: w.sourceTable,
          sourceId: part[0]!,
          reason: "rejected_by_target",
          action: "skipped",
          detail: { error: e.message, constraint: e.constraint, table: e.table },
        });
        counts = addCounts(counts, { [`${w.table}.rejected`]: 1 });
        return;
      }
      const mid = Math.ceil(part.length / 2);
      await attempt(part.slice(0, mid));
      await attempt(part.slice(mid));
    }
  };
  await attempt(sids);
  return { counts, rejected };
}

async function runStep(
  step: Step,
  src: pg.Client,
  exec: Executor,
  ctx: Ctx,
  run: RunState,
  opts: { batchSize: number; strict: boolean; types: ColumnTypes; onProgress?: (p: Progress) => void },
): Promise<void> {
  const state = run.progress.get(step.name)!;
  if (state.done) return;
  const started = Date.now();
  const total = Number((await src.query(step.countSql)).rows[0].count);
  if (step.prepass) ctx.decisions.set(step.name, await step.prepass(src, ctx));
  const read = (after: string | null) =>
    src.query(step.readSql(ctx, after === null), after === null ? [opts.batchSize] : [after, opts.batchSize]).then((r) => r.rows as Row[]);
  let stats: BatchCounts = { ...state.stats };
  let next = read(state.lastKey);
  for (;;) {
    const rows = await next;
    if (!rows.length) break;
    const lastKey = step.keyOf(rows.at(-1)!);
    // Read the next page while this one is written.
    next = read(lastKey);
    next.catch(() => {});
    const out: Output = step.transform(rows, ctx);
    const delta = decisionDelta(rows.length, out.quarantine);
    let counts: BatchCounts;
    try {
      counts = await exec(
        batchStatement({
          runId: run.runId,
          types: opts.types,
          writes: out.writes,
          quarantine: out.quarantine,
          progress: { step: step.name, lastKey, delta },
        }),
        out.writes,
      );
    } catch (err) {
      if (isConnectionError(err)) throw err;
      const b = await bisect(exec, run.runId, opts.types, out.writes);
      out.quarantine.push(...b.rejected);
      counts = addCounts(b.counts, { skipped: b.rejected.length });
      await exec(progressStatement(run.runId, step.name, lastKey, addCounts(delta, counts), out.quarantine));
    }
    stats = addCounts(addCounts(stats, delta), counts);
    if (opts.strict) {
      const dirty =
        out.quarantine.length + Object.entries(counts).reduce((n, [k, v]) => n + (/\.(orphaned|conflicted|rejected)$/.test(k) ? v : 0), 0);
      if (dirty)
        throw new StrictViolation(
          out.quarantine.length
            ? out.quarantine
            : [
                {
                  sourceTable: step.sourceTable,
                  sourceId: lastKey,
                  reason: "parent_not_imported or conflict",
                  action: "skipped",
                  detail: counts,
                },
              ],
        );
    }
    state.stats = stats;
    opts.onProgress?.({ step: step.name, read: stats.read ?? 0, total, stats, done: false, elapsedMs: Date.now() - started });
  }
  await exec(
    `UPDATE legacy_import.progress SET done = true, updated_at = now() WHERE run_id = ${run.runId} AND step = ${literal(step.name)}`,
  );
  state.done = true;
  state.stats = stats;
  opts.onProgress?.({ step: step.name, read: stats.read ?? 0, total, stats, done: true, elapsedMs: Date.now() - started });
}

/** Runs the import (or its dry run) and returns the report; `report.ok` says whether every invariant held. */
export async function importLegacy(o: ImportOptions): Promise<ImportReport> {
  const mode = o.mode ?? "import";
  const log = o.log ?? (() => {});
  const startedAt = Date.now();
  const src = await connect(o.from, "buildxpert-legacy-import (source)", true);
  const dst = await connect(o.to, "buildxpert-legacy-import", false);
  const single = mode !== "import";
  try {
    if (!(await dst.query(`SELECT ${LOCK} AS ok`)).rows[0].ok) throw new Error("Another legacy import is running against this target.");
    if (single) await dst.query("BEGIN");
    await dst.query(STATE_DDL);
    const catalogue = await loadCatalogue(dst);
    const types = await columnTypes(dst);
    const run = await openRun(dst, describeUrl(o.from), mode);
    if (run.resumed) log(`resuming run ${run.runId} (started for data as of ${run.asOf})`);
    const ctx: Ctx = { nodeTz: o.nodeTz ?? "UTC", asOf: run.asOf, today: istDate(new Date(run.asOf)), catalogue, decisions: new Map() };
    const exec = executor(dst, single);
    let strictError: StrictViolation | undefined;
    try {
      for (const step of STEPS) {
        await runStep(step, src, exec, ctx, run, {
          batchSize: o.batchSize ?? 5000,
          strict: mode === "strict",
          types,
          onProgress: o.onProgress,
        });
      }
    } catch (err) {
      if (!(err instanceof StrictViolation)) throw err;
      strictError = err;
    }
    const steps: StepStats[] = STEPS.map((s) => ({ step: s.name, sourceTable: s.sourceTable, stats: run.progress.get(s.name)!.stats }));
    const invariants = strictError ? [] : await verify(src, dst, ctx, STEPS, new Map(steps.map((s) => [s.step, s.stats])));
    mkdirSync(o.reportDir, { recursive: true });
    const report = await writeReport(dst, {
      dir: path.resolve(o.reportDir),
      runId: run.runId,
      mode,
      resumed: run.resumed,
      source: describeUrl(o.from),
      target: describeUrl(o.to),
      asOf: run.asOf,
      timeZones: { naive: IST, javascriptDates: ctx.nodeTz },
      elapsedMs: Date.now() - startedAt,
      steps,
      invariants,
      strictViolation: strictError ? strictError.entries.slice(0, 20) : undefined,
    });
    if (mode === "dry-run" || strictError) {
      await dst.query("ROLLBACK");
    } else {
      await dst.query("UPDATE legacy_import.runs SET finished_at = now(), report = $2 WHERE id = $1", [
        run.runId,
        JSON.stringify(report.summary),
      ]);
      if (single) await dst.query("COMMIT");
    }
    return report;
  } catch (err) {
    if (single) await dst.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await dst.query(`SELECT pg_advisory_unlock(hashtext('buildxpert.legacy_import'))`).catch(() => {});
    await Promise.allSettled([src.end(), dst.end()]);
  }
}
