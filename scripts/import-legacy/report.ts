/**
 * The import's report: `report.json` (everything), `report.md` (for people), `quarantine.jsonl` (one
 * quarantined or corrected row per line, streamed from the target so it never sits in memory).
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import type { Invariant } from "./verify.ts";
import type { BatchCounts, QuarantineEntry } from "./writer.ts";

export type StepStats = { step: string; sourceTable: string; stats: BatchCounts };

export type ReportInput = {
  dir: string;
  runId: number;
  mode: string;
  resumed: boolean;
  source: string;
  target: string;
  asOf: string;
  timeZones: Record<string, string>;
  elapsedMs: number;
  steps: StepStats[];
  invariants: Invariant[];
  strictViolation?: QuarantineEntry[];
};

export type TableLine = {
  step: string;
  read: number;
  written: number;
  alreadyPresent: number;
  quarantined: number;
  corrected: number;
  importedAsDeleted: number;
  flagged: number;
};

export type ImportReport = {
  ok: boolean;
  summary: Omit<ReportInput, "dir" | "steps"> & {
    tables: TableLine[];
    quarantine: Array<{ sourceTable: string; reason: string; action: string; rows: number }>;
  };
  files: { json: string; markdown: string; quarantine: string };
  markdown: string;
};

function tableLine(s: StepStats): TableLine {
  const get = (k: string) => Number(s.stats[k] ?? 0);
  const sum = (suffix: string) =>
    Object.entries(s.stats)
      .filter(([k]) => k.endsWith(suffix))
      .reduce((n, [, v]) => n + Number(v), 0);
  return {
    step: s.step,
    read: get("read"),
    written: sum(".written"),
    alreadyPresent: sum(".existing"),
    quarantined: get("skipped") + sum(".orphaned") + sum(".conflicted"),
    corrected: get("corrected"),
    importedAsDeleted: get("imported_as_deleted"),
    flagged: get("flagged"),
  };
}

async function dumpQuarantine(dst: pg.Client, file: string): Promise<void> {
  const out = createWriteStream(file);
  let last: [string, string, string] | null = null;
  for (;;) {
    const { rows }: pg.QueryResult<{ source_table: string; source_id: string; reason: string }> = await dst.query(
      `SELECT source_table, source_id, reason, action, detail FROM legacy_import.quarantine
        ${last ? "WHERE (source_table, source_id, reason) > ($1, $2, $3)" : ""}
        ORDER BY source_table, source_id, reason LIMIT 5000`,
      last ?? undefined,
    );
    if (!rows.length) break;
    for (const r of rows) {
      if (!out.write(`${JSON.stringify(r)}\n`)) await once(out, "drain");
    }
    const l: { source_table: string; source_id: string; reason: string } = rows.at(-1)!;
    last = [l.source_table, l.source_id, l.reason];
  }
  out.end();
  await once(out, "finish");
}

function markdown(s: ImportReport["summary"], ok: boolean): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const lines = [
    `# Legacy import report (run ${s.runId}, ${s.mode}${s.resumed ? ", resumed" : ""})`,
    "",
    `Source ${s.source} → target ${s.target}; data as of ${s.asOf}; ${(s.elapsedMs / 1000).toFixed(1)} s.`,
    `Old naive timestamps read as ${s.timeZones.naive}; columns the old server filled from JavaScript Dates as ${s.timeZones.javascriptDates}.`,
    "",
    `**Result: ${ok ? "all invariants hold" : "FAILED"}**`,
    "",
    "| table | read | written | already present | quarantined | corrected | imported as deleted | flagged |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...s.tables.map(
      (t) =>
        `| ${t.step} | ${n(t.read)} | ${n(t.written)} | ${n(t.alreadyPresent)} | ${n(t.quarantined)} | ${n(t.corrected)} | ${n(t.importedAsDeleted)} | ${n(t.flagged)} |`,
    ),
    "",
    "## Invariants",
    "",
    ...s.invariants.flatMap((i) => [`- ${i.ok ? "✔" : "✘"} **${i.name}**: ${i.summary}`, ...i.mismatches.map((m) => `  - ${m}`)]),
    "",
    "## Quarantine (all runs; one line per row in quarantine.jsonl)",
    "",
    "| old table | reason | action | rows |",
    "|---|---|---|---:|",
    ...s.quarantine.map((q) => `| ${q.sourceTable} | ${q.reason} | ${q.action} | ${n(q.rows)} |`),
  ];
  if (s.strictViolation?.length) {
    lines.push(
      "",
      "## --strict: stopped at",
      "",
      ...s.strictViolation.map((e) => `- ${e.sourceTable} ${e.sourceId}: ${e.reason} (${e.action})`),
    );
  }
  return `${lines.join("\n")}\n`;
}

export async function writeReport(dst: pg.Client, r: ReportInput): Promise<ImportReport> {
  const grouped = await dst.query(
    `SELECT source_table, reason, action, count(*)::int AS rows FROM legacy_import.quarantine GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  const { dir, steps, ...meta } = r;
  const summary: ImportReport["summary"] = {
    ...meta,
    tables: steps.map(tableLine),
    quarantine: grouped.rows.map((g) => ({ sourceTable: g.source_table, reason: g.reason, action: g.action, rows: g.rows })),
  };
  const ok = !r.strictViolation && r.invariants.length > 0 && r.invariants.every((i) => i.ok);
  const files = {
    json: path.join(dir, "report.json"),
    markdown: path.join(dir, "report.md"),
    quarantine: path.join(dir, "quarantine.jsonl"),
  };
  const md = markdown(summary, ok);
  await dumpQuarantine(dst, files.quarantine);
  await writeFile(files.json, `${JSON.stringify({ ok, ...summary }, null, 2)}\n`);
  await writeFile(files.markdown, md);
  return { ok, summary, files, markdown: md };
}
