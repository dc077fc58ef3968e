/**
 * `npm run bench:import`: the legacy importer at production scale. Generates an old database (the
 * old schema from test/tools/import-legacy/legacy-schema.sql) with BENCH_USERS users (default 100k)
 * and BENCH_BOOKINGS bookings (default 500k) plus their providers, listings, prices, addresses and
 * payments, in SQL with generate_series; imports it into a freshly migrated and seeded database
 * (embedded PostgreSQL, or the server in DATABASE_URL) and prints rows/s per table, wall time and the
 * importer's resident memory sampled every 100 ms (peak, and along the bookings step to show it
 * stays flat). Exits 1 if an invariant fails. Results: bench/results/import-legacy.md.
 *
 * The generated data carries the dirt real data has in proportion: phones stored as "+91 ..." (every
 * 25th account), retried duplicate bookings where random picks collide, and the odd double-accepted
 * slot; the report shows what was quarantined.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { hashSync } from "bcryptjs";
import pg from "pg";
import { createDatabase, dropDatabase, startDatabase } from "../scripts/db/embedded.mjs";
import { migrate } from "../scripts/db/migrate.mjs";
import { CATALOGUE, seed } from "../scripts/db/seed.mjs";
import { importLegacy, type Progress } from "../scripts/import-legacy/importer.ts";
import { LEGACY_SCHEMA } from "../test/tools/import-legacy/fixture.ts";

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 500_000);
const PROVIDERS = Math.max(10, Math.round(USERS / 10));
const CUSTOMERS = USERS - PROVIDERS;
const started = Date.now();
const log = (m: string) => console.log(`[bench:import ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

/** The old database: every statement runs on an Asia/Kolkata session, as the old server's did. */
async function generate(url: string): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const q = async (label: string, sql: string, params: unknown[] = []) => {
    const t = Date.now();
    const r = await db.query(sql, params);
    log(`  ${label}: ${r.rowCount ?? ""} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  // Sub-service slugs per category, as the old validation file had them (our seed copies it).
  const categories = CATALOGUE.filter((c) => c.subServices.length > 0).map((c) => ({
    name: c.name,
    slugs: c.subServices.map(([slug]) => slug),
  }));
  try {
    await db.query("SET client_min_messages = warning; SET timezone = 'Asia/Kolkata'; SET synchronous_commit = off");
    await db.query(LEGACY_SCHEMA);
    await db.query(`CREATE TEMP TABLE cats (n int PRIMARY KEY, name text, slugs text[], service_id uuid)`);
    await db.query(
      `INSERT INTO cats SELECT c.n, c.name, c.slugs, sm.id
         FROM jsonb_to_recordset($1::jsonb) AS c(n int, name text, slugs text[]) JOIN services_master sm ON sm.name = c.name`,
      [JSON.stringify(categories.map((c, n) => ({ n, ...c })))],
    );
    const hash = hashSync("Bench#2024", 10);
    await q(
      "users",
      `INSERT INTO users (id, full_name, email, phone, password, role, is_verified, created_at)
       SELECT gen_random_uuid(), 'Legacy user ' || g, 'legacy' || g || '@example.com',
              CASE WHEN g % 25 = 0 THEN '+91 ' ELSE '' END || (6000000000 + g)::text,
              $1, CASE WHEN g <= $2 THEN 'provider' ELSE 'user' END, true,
              now()::timestamp - (g % 700) * interval '1 day' - (g % 86400) * interval '1 second'
         FROM generate_series(1, $3::int) g`,
      [hash, PROVIDERS, USERS],
    );
    await db.query(`CREATE TEMP TABLE providers AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM users WHERE role = 'provider'`);
    await db.query(`CREATE TEMP TABLE customers AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM users WHERE role = 'user'`);
    await db.query("CREATE INDEX ON customers (n); CREATE INDEX ON providers (n)");
    await q(
      "addresses",
      `INSERT INTO addresses (user_id, type, state, city, full_address, created_at)
       SELECT id, 'home', 'Karnataka', (ARRAY['Bengaluru', 'Mysuru', 'Hubballi', 'Mangaluru'])[1 + (n % 4)], 'House ' || n, now()::timestamp
         FROM (SELECT n, id FROM customers UNION ALL SELECT n, id FROM providers) u`,
    );
    await q(
      "provider_profiles",
      `INSERT INTO provider_profiles (id, user_id, years_of_experience, service_description, created_at)
       SELECT gen_random_uuid(), id, n % 30, 'Experienced professional', now()::timestamp - interval '400 days' FROM providers`,
    );
    // One listing per provider: 70 % paid and active, 20 % expired, 10 % never paid.
    await q(
      "provider_services",
      `INSERT INTO provider_services (provider_id, service_id, payment_status, payment_start_date, payment_end_date, created_at)
       SELECT pp.id, c.service_id,
              CASE WHEN p.n % 10 < 7 THEN 'active' WHEN p.n % 10 < 9 THEN 'expired' ELSE 'pending' END,
              CASE WHEN p.n % 10 < 9 THEN current_date - (p.n % 30)::int - CASE WHEN p.n % 10 < 7 THEN 0 ELSE 40 END END,
              CASE WHEN p.n % 10 < 9 THEN current_date - (p.n % 30)::int + 30 - CASE WHEN p.n % 10 < 7 THEN 0 ELSE 40 END END,
              now()::timestamp - interval '300 days'
         FROM providers p JOIN provider_profiles pp ON pp.user_id = p.id JOIN cats c ON c.n = p.n % (SELECT count(*) FROM cats)`,
    );
    await db.query(`CREATE TEMP TABLE listings AS
      SELECT row_number() OVER (ORDER BY ps.id) - 1 AS n, ps.id, ps.provider_id, c.slugs
        FROM provider_services ps JOIN cats c ON c.service_id = ps.service_id WHERE ps.payment_status = 'active'`);
    await db.query("CREATE INDEX ON listings (n)");
    await q(
      "provider_sub_services",
      `INSERT INTO provider_sub_services (provider_service_id, sub_service_id, price, created_at)
       SELECT ps.id, s.slug, 100 + (abs(hashtext(ps.id::text || s.slug)) % 50) * 10, now()::timestamp
         FROM provider_services ps JOIN cats c ON c.service_id = ps.service_id CROSS JOIN LATERAL unnest(c.slugs[1:2]) AS s(slug)`,
    );
    const listings = Number((await db.query("SELECT count(*) FROM listings")).rows[0].count);
    await q(
      "bookings",
      `INSERT INTO bookings (user_id, provider_service_id, provider_id, selected_service, appointment_date, appointment_time, status,
                             service_charge_value, created_at, updated_at, customer_name, provider_name,
                             rejection_reason, cancellation_reason)
       SELECT cu.id, l.id, l.provider_id, l.slugs[1], d.day, t.slot, st.status, 100 + (g % 50) * 10, d.made, d.made + interval '2 hours',
              'Legacy customer', 'Legacy provider',
              CASE WHEN st.status = 'rejected' THEN 'Not available' END, CASE WHEN st.status = 'cancelled' THEN 'Plans changed' END
         FROM generate_series(1::bigint, $1::bigint) g
         CROSS JOIN LATERAL (SELECT abs(hashtext('c' || g)) % $2::int AS c, abs(hashtext('l' || g)) % $3::int AS l,
                                    abs(hashtext('d' || g)) % 240 AS d, abs(hashtext('t' || g)) % 7 AS t) h
         JOIN customers cu ON cu.n = h.c
         JOIN listings l ON l.n = h.l
         CROSS JOIN LATERAL (SELECT current_date + (h.d - 180) AS day, now()::timestamp - (h.d - 60) * interval '1 day' AS made) d
         CROSS JOIN LATERAL (SELECT (ARRAY['9:00 AM', '10:30 AM', '12:00 PM', '2:00 PM', '3:30 PM', '5:00 PM', '6:30 PM'])[1 + h.t] AS slot) t
         CROSS JOIN LATERAL (SELECT CASE WHEN d.day >= current_date
                                         THEN (ARRAY['pending', 'accepted', 'pending', 'cancelled', 'rejected'])[1 + (g % 5)]
                                         ELSE (ARRAY['completed', 'completed', 'completed', 'cancelled', 'rejected'])[1 + (g % 5)] END AS status) st`,
      [BOOKINGS, CUSTOMERS, listings],
    );
    await q(
      "payment_transactions",
      `INSERT INTO payment_transactions (order_id, user_id, provider_service_id, amount, status, transaction_id, service_name,
                                         created_at, completed_at, updated_at)
       SELECT 'ORDER_' || (1700000000000 + row_number() OVER ()) || '_b', pp.user_id, ps.id, 99.00, 'completed',
              'TXN' || (1700000000000 + row_number() OVER ()), 'listing', now()::timestamp - interval '20 days',
              now()::timestamp - interval '20 days', now()::timestamp - interval '20 days'
         FROM provider_services ps JOIN provider_profiles pp ON pp.id = ps.provider_id WHERE ps.payment_status IN ('active', 'expired')`,
    );
    // One customer in 20 bought a labour pass; half of those still run.
    await q(
      "labour passes",
      `WITH buyers AS (SELECT id, n FROM customers WHERE n % 20 = 0),
            paid AS (UPDATE users u SET labour_access_status = CASE WHEN b.n % 40 = 0 THEN 'active' ELSE 'expired' END,
                                        labour_access_start_date = (now() AT TIME ZONE 'UTC') - CASE WHEN b.n % 40 = 0 THEN interval '2 days' ELSE interval '30 days' END,
                                        labour_access_end_date = (now() AT TIME ZONE 'UTC') - CASE WHEN b.n % 40 = 0 THEN interval '2 days' ELSE interval '30 days' END + interval '7 days'
                       FROM buyers b WHERE u.id = b.id RETURNING u.id, u.labour_access_start_date AS start)
       INSERT INTO labour_payment_transactions (order_id, user_id, amount, status, service_name, transaction_id, created_at, completed_at, updated_at)
       SELECT 'LABOUR_' || (1700000000000 + row_number() OVER ()) || '_b', id, 99.00, 'completed', 'labors',
              'LTXN' || (1700000000000 + row_number() OVER ()),
              (start AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Kolkata', (start AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Kolkata',
              (start AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Kolkata'
         FROM paid`,
    );
    await db.query("ANALYZE");
  } finally {
    await db.end();
  }
}

const server = await startDatabase();
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const legacyName = `bx_bench_legacy_${suffix}`;
const targetName = `bx_bench_target_${suffix}`;
const reportDir = await mkdtemp(path.join(os.tmpdir(), "bx-bench-import-"));
let code = 0;
try {
  log(`generating the old database: ${USERS.toLocaleString("en-US")} users, ${BOOKINGS.toLocaleString("en-US")} bookings`);
  const legacyUrl = await createDatabase(server.adminUrl, legacyName);
  await generate(legacyUrl);
  const target = await createDatabase(server.adminUrl, targetName);
  await migrate(target);
  await seed(target, { demo: false });
  log("target migrated and seeded; importing");

  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const rssAtStart = process.memoryUsage().rss;
  const perStep = new Map<string, { read: number; ms: number; peak: number }>();
  const bookingsRss: string[] = [];
  let nextMark = 0.25;
  let stepPeak = 0;
  const t0 = Date.now();
  const report = await importLegacy({
    from: legacyUrl,
    to: target,
    reportDir,
    onProgress: (p: Progress) => {
      const rss = process.memoryUsage().rss;
      stepPeak = Math.max(stepPeak, rss);
      if (p.step === "bookings" && p.total && p.read / p.total >= nextMark) {
        bookingsRss.push(`${Math.round(nextMark * 100)} %: ${mib(rss)}`);
        nextMark += 0.25;
      }
      if (p.done) {
        perStep.set(p.step, { read: p.read, ms: p.elapsedMs, peak: stepPeak });
        stepPeak = 0;
        log(
          `  ${p.step.padEnd(34)} ${p.read.toLocaleString("en-US").padStart(9)} rows  ${(p.elapsedMs / 1000).toFixed(1).padStart(6)} s  ${Math.round(
            (p.read / Math.max(1, p.elapsedMs)) * 1000,
          )
            .toLocaleString("en-US")
            .padStart(8)} rows/s  rss ${mib(rss)}`,
        );
      }
    },
  });
  const wallMs = Date.now() - t0;
  clearInterval(sampler);
  const read = report.summary.tables.reduce((n, t) => n + t.read, 0);
  const written = report.summary.tables.reduce((n, t) => n + t.written, 0);
  const importMs = [...perStep.values()].reduce((n, s) => n + s.ms, 0);
  const lines = [
    "# Legacy import bench",
    "",
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Node ${process.version}, PostgreSQL 17 (${process.env.DATABASE_URL ? "DATABASE_URL" : "embedded"}), batch 5000.`,
    `Old database: ${USERS.toLocaleString("en-US")} users (${PROVIDERS.toLocaleString("en-US")} providers), ${BOOKINGS.toLocaleString("en-US")} bookings.`,
    "",
    `- wall time ${(wallMs / 1000).toFixed(1)} s (import ${(importMs / 1000).toFixed(1)} s, verification and report ${((wallMs - importMs) / 1000).toFixed(1)} s)`,
    `- ${read.toLocaleString("en-US")} rows read, ${written.toLocaleString("en-US")} written: ${Math.round((read / importMs) * 1000).toLocaleString("en-US")} rows/s overall (import phase)`,
    `- importer RSS: ${mib(rssAtStart)} at start, peak ${mib(peak)}; during bookings ${bookingsRss.join(", ")}`,
    `- invariants: ${report.ok ? "all hold" : "FAILED"}; quarantined ${report.summary.tables.reduce((n, t) => n + t.quarantined, 0).toLocaleString("en-US")} rows`,
    "",
    "| table | rows read | seconds | rows/s | peak RSS |",
    "|---|---:|---:|---:|---:|",
    ...[...perStep.entries()]
      .filter(([, s]) => s.read > 0)
      .map(
        ([name, s]) =>
          `| ${name} | ${s.read.toLocaleString("en-US")} | ${(s.ms / 1000).toFixed(1)} | ${Math.round((s.read / Math.max(1, s.ms)) * 1000).toLocaleString("en-US")} | ${mib(s.peak)} |`,
      ),
    "",
    ...report.summary.invariants.map((i) => `- ${i.ok ? "✔" : "✘"} ${i.name}: ${i.summary}`),
    "",
    "| quarantined: old table | reason | action | rows |",
    "|---|---|---|---:|",
    ...report.summary.quarantine.map((q) => `| ${q.sourceTable} | ${q.reason} | ${q.action} | ${q.rows.toLocaleString("en-US")} |`),
  ];
  const md = `${lines.join("\n")}\n`;
  writeFileSync(new URL("./results/import-legacy.md", import.meta.url), md);
  console.log(`\n${md}`);
  if (!report.ok) {
    console.log(report.markdown);
    code = 1;
  }
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await dropDatabase(server.adminUrl, legacyName).catch(() => {});
  await dropDatabase(server.adminUrl, targetName).catch(() => {});
  await rm(reportDir, { recursive: true, force: true });
  await server.stop();
}
process.exit(code);
