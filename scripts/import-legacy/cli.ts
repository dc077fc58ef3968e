/**
 * npm run import:legacy -- --from <old DATABASE_URL> [--to <DATABASE_URL>] [--dry-run] [--strict]
 *                          [--batch-size 5000] [--report-dir DIR] [--legacy-node-tz UTC]
 *
 * Imports the old Express backend's database into ours (scripts/import-legacy/importer.ts), prints a
 * progress line per table and the verification report, and exits 0 only if every invariant held
 * (1: an invariant failed or --strict met dirty data; 2: the import itself failed). Re-running is
 * safe: it changes nothing that is already imported, and an interrupted run resumes.
 */
import { parseArgs } from "node:util";
import { importLegacy, type Mode, type Progress } from "./importer.ts";

const USAGE = `usage: npm run import:legacy -- --from <old DATABASE_URL> [--to <DATABASE_URL>] [--dry-run] [--strict]
                              [--batch-size N] [--report-dir DIR] [--legacy-node-tz ZONE]`;

function progressLine(p: Progress): string {
  const pct = p.total ? Math.min(100, Math.floor((p.read / p.total) * 100)) : 100;
  const width = 24;
  const bar = "#".repeat(Math.round((pct / 100) * width)).padEnd(width, ".");
  const rate = p.elapsedMs > 0 ? Math.round((p.read / p.elapsedMs) * 1000) : 0;
  const sum = (suffix: string) => Object.entries(p.stats).reduce((n, [k, v]) => n + (k.endsWith(suffix) ? Number(v) : 0), 0);
  const quarantined = Number(p.stats.skipped ?? 0) + sum(".orphaned") + sum(".conflicted");
  return `${p.step.padEnd(36)} [${bar}] ${String(pct).padStart(3)}% ${p.read.toLocaleString("en-US").padStart(9)}/${p.total.toLocaleString("en-US")} ${rate.toLocaleString("en-US").padStart(7)} rows/s  written ${sum(".written").toLocaleString("en-US")}  quarantined ${quarantined.toLocaleString("en-US")}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      from: { type: "string" },
      to: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      "batch-size": { type: "string" },
      "report-dir": { type: "string" },
      "legacy-node-tz": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const to = values.to ?? process.env.DATABASE_URL;
  if (values.help || !values.from || !to) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  if (values["dry-run"] && values.strict) {
    console.error("--dry-run and --strict are exclusive (a strict run commits only clean data; a dry run commits nothing)");
    return 2;
  }
  const mode: Mode = values["dry-run"] ? "dry-run" : values.strict ? "strict" : "import";
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const tty = process.stdout.isTTY;
  let lastPrint = 0;
  const report = await importLegacy({
    from: values.from,
    to,
    mode,
    batchSize: values["batch-size"] ? Number(values["batch-size"]) : undefined,
    reportDir: values["report-dir"] ?? `legacy-import-${stamp}`,
    nodeTz: values["legacy-node-tz"],
    log: (line) => console.log(line),
    onProgress: (p) => {
      if (tty) process.stdout.write(`\r${progressLine(p)}${p.done ? "\n" : ""}`);
      else if (p.done || Date.now() - lastPrint > 5000) {
        lastPrint = Date.now();
        console.log(progressLine(p));
      }
    },
  });
  console.log(`\n${report.markdown}`);
  console.log(`report: ${report.files.markdown}\nquarantine: ${report.files.quarantine}`);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`import:legacy failed: ${err instanceof Error ? err.message : err}`);
    process.exit(2);
  },
);
