/**
 * The legacy importer against real PostgreSQL: the old schema (legacy-schema.sql) holding the
 * fixture's story and dirt, imported into throwaway databases migrated with our migrations and
 * seeded with our catalogue. What the apps' users would notice is asserted in the worker suite
 * (test/import-legacy/switch-over.test.ts); here: values, instants, quarantine, idempotency,
 * dry run, --strict, resumption and the verification.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, dropDatabase, startDatabase } from "../../../scripts/db/embedded.mjs";
import { migrate } from "../../../scripts/db/migrate.mjs";
import { seed } from "../../../scripts/db/seed.mjs";
import { type ImportOptions, importLegacy } from "../../../scripts/import-legacy/importer.ts";
import { endOfIstDay, startOfIstDay } from "../../../scripts/import-legacy/legacy.ts";
import { createLegacyFixture, type LegacyFacts } from "./fixture.ts";

type Server = Awaited<ReturnType<typeof startDatabase>>;
let server: Server;
let legacy: { url: string; facts: LegacyFacts; drop: () => Promise<void> };
let f: LegacyFacts;
let reports: string;
const created: string[] = [];
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const TEMPLATE = `bx_import_tpl_${suffix}`;

/** A fresh target: our migrations and catalogue, nothing else. */
async function target(): Promise<string> {
  const name = `bx_import_${created.length}_${suffix}`;
  created.push(name);
  return createDatabase(server.adminUrl, name, { template: TEMPLATE });
}

async function run(to: string, extra: Partial<ImportOptions> = {}) {
  return importLegacy({ from: legacy.url, to, reportDir: await mkdtemp(path.join(reports, "r-")), ...extra });
}

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

const DOMAIN_TABLES = [
  "users",
  "blocked_identifiers",
  "addresses",
  "notification_settings",
  "push_tokens",
  "provider_profiles",
  "provider_services",
  "provider_sub_services",
  "bookings",
  "ratings",
  "user_reports_providers",
  "provider_reports_users",
  "notifications",
  "payment_orders",
  "labour_access",
  "payment_events",
  "call_logs",
  "call_events",
];

/**
 * Every row of every table the importer writes: equal snapshots mean nothing changed. `ignore` drops
 * columns that legitimately differ between two targets (the run's own instant).
 */
async function snapshot(url: string, ignore: string[] = [], tables = DOMAIN_TABLES): Promise<Record<string, string>> {
  const rows = await query<{ t: string; n: number; digest: string }>(
    url,
    tables
      .map(
        (t) => `SELECT '${t}' AS t, count(*)::int AS n, md5(coalesce(string_agg(j, '|' ORDER BY j), '')) AS digest
                FROM (SELECT (to_jsonb(x) - $1::text[])::text AS j FROM ${t} x) s`,
      )
      .join(" UNION ALL "),
    [ignore],
  );
  return Object.fromEntries(rows.map((r) => [r.t, `${r.n}:${r.digest}`]));
}

const schemaExists = async (url: string) =>
  (await query<{ s: string | null }>(url, "SELECT to_regnamespace('legacy_import')::text AS s"))[0]!.s !== null;

beforeAll(async () => {
  reports = await mkdtemp(path.join(os.tmpdir(), "bx-import-reports-"));
  server = await startDatabase();
  const tpl = await createDatabase(server.adminUrl, TEMPLATE);
  await migrate(tpl);
  await seed(tpl, { demo: false });
  legacy = await createLegacyFixture(server.adminUrl, `bx_legacy_${suffix}`);
  f = legacy.facts;
});

afterAll(async () => {
  for (const name of created) await dropDatabase(server.adminUrl, name).catch(() => {});
  await dropDatabase(server.adminUrl, TEMPLATE).catch(() => {});
  await legacy?.drop().catch(() => {});
  await server?.stop();
  await rm(reports, { recursive: true, force: true });
});

describe("legacy import", () => {
  let url: string;
  let first: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    url = await target();
    first = await run(url);
  });

  it("passes every invariant and accounts for every row read", () => {
    expect(first.summary.invariants.map((i) => [i.name, i.ok, i.mismatches])).toEqual(
      first.summary.invariants.map((i) => [i.name, true, []]),
    );
    expect(first.ok).toBe(true);
    const users = first.summary.tables.find((t) => t.step === "users")!;
    expect(users).toMatchObject({ read: 9, written: 8, quarantined: 1, importedAsDeleted: 1 });
  });

  it("keeps ids, the bcrypt hash and a normalised phone; a twin account is imported deleted", async () => {
    const [old] = await query<{ password: string }>(legacy.url, "SELECT password FROM users WHERE id = $1", [f.customer.id]);
    const [u] = await query(url, "SELECT phone, email, password_hash, role::text, deleted_at FROM users WHERE id = $1", [f.customer.id]);
    expect(u).toEqual({
      phone: "4100000001",
      email: "asha.legacy@example.com",
      password_hash: old!.password,
      role: "user",
      deleted_at: null,
    });
    const twins = await query(url, "SELECT id, deleted_at IS NOT NULL AS deleted FROM users WHERE phone = $1 ORDER BY deleted", [
      f.twin.phone,
    ]);
    expect(twins).toEqual([
      { id: f.twin.first, deleted: false },
      { id: f.twin.second, deleted: true },
    ]);
  });

  it("converts each old timestamp by what it held: India wall-clock, UTC from JavaScript Dates, India calendar days", async () => {
    const [[oldBooking], [newBooking]] = await Promise.all([
      query<{ created: string; date: string }>(
        legacy.url,
        "SELECT created_at::text AS created, appointment_date::text AS date FROM bookings WHERE id = $1",
        [f.bookings.completed],
      ),
      query<{ created: Date; at: Date; completed: Date; updated: Date; time: string }>(
        url,
        "SELECT created_at AS created, appointment_at AS at, completed_at AS completed, updated_at AS updated, appointment_time AS time FROM bookings WHERE id = $1",
        [f.bookings.completed],
      ),
    ]);
    // Naive `2026-01-10 10:00:00` written by now() on an Asia/Kolkata session is 04:30 UTC.
    expect(newBooking!.created.toISOString()).toBe(new Date(`${oldBooking!.created.replace(" ", "T")}+05:30`).toISOString());
    expect(newBooking!.at.toISOString()).toBe(new Date(`${oldBooking!.date}T10:00:00+05:30`).toISOString());
    expect(newBooking!.completed).toEqual(newBooking!.updated);
    // The labour window was written from JavaScript Dates on a UTC server: the same instant, not shifted.
    const [[oldUser], [pass]] = await Promise.all([
      query<{ start: string; end: string }>(
        legacy.url,
        "SELECT labour_access_start_date::text AS start, labour_access_end_date::text AS end FROM users WHERE id = $1",
        [f.customer.id],
      ),
      query<{ starts_at: Date; expires_at: Date }>(url, "SELECT starts_at, expires_at FROM labour_access WHERE user_id = $1", [
        f.customer.id,
      ]),
    ]);
    expect(pass!.starts_at.toISOString()).toBe(new Date(`${oldUser!.start.replace(" ", "T")}Z`).toISOString());
    expect(pass!.expires_at.toISOString()).toBe(new Date(`${oldUser!.end.replace(" ", "T")}Z`).toISOString());
    // A listing paid through an India day is listed until that day ends in India.
    const [listing] = await query<{ status: string; activated_at: Date; expires_at: Date }>(
      url,
      "SELECT status::text, activated_at, expires_at FROM provider_services WHERE id = $1",
      [f.listing.id],
    );
    expect(listing).toEqual({
      status: "active",
      activated_at: new Date(startOfIstDay(f.listing.startedOn)),
      expires_at: new Date(endOfIstDay(f.listing.paidThrough)),
    });
  });

  it("records payments as orders: paid ones with their Paytm transaction, a failed one Paytm paid as paid but undelivered", async () => {
    const orders = await query(
      url,
      "SELECT id, status::text, amount_paise, gateway_txn_id, activated_at IS NOT NULL AS delivered FROM payment_orders WHERE user_id = $1 ORDER BY created_at",
      [f.provider.id],
    );
    expect(orders).toEqual([
      { id: f.listingPayment.id, status: "paid", amount_paise: 9900, gateway_txn_id: "20260101111212800110168000000777", delivered: true },
      { id: f.failedButPaid.id, status: "paid", amount_paise: 9900, gateway_txn_id: f.failedButPaid.txnId, delivered: false },
      { id: f.supersededOrder.older, status: "expired", amount_paise: 9900, gateway_txn_id: null, delivered: false },
      { id: f.supersededOrder.newer, status: "pending", amount_paise: 9900, gateway_txn_id: null, delivered: false },
    ]);
    const [paid] = first.summary.invariants.filter((i) => i.name === "sum of paid amounts");
    expect(paid!.details).toMatchObject({ oldCompletedPaise: 19800, provenPaidPaise: 9900, paidHerePaise: 29700 });
  });

  it("quarantines every kind of dirt with its reason, in the report file and the summary", async () => {
    const entries = readFileSync(first.files.quarantine, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { source_table: string; source_id: string; reason: string; action: string });
    const find = (id: string) => entries.filter((e) => e.source_id === id).map((e) => `${e.reason}/${e.action}`);
    const b = f.bookings;
    expect(find(b.retriedDuplicate)).toEqual(["duplicate_booking_app_retry/skipped"]);
    expect(find(b.rejectedThenCompleted)).toEqual(["impossible_status_sequence/skipped"]);
    expect(find(f.ratings.onPending)).toEqual(["impossible_status_sequence/skipped"]);
    expect(find(f.failedButPaid.id)).toEqual(["failed_but_paid_at_paytm/corrected"]);
    expect(find(f.customer.id)).toEqual(["phone_normalised/corrected"]);
    expect(find(f.twin.second)).toEqual(["duplicate_account/imported_as_deleted", "phone_normalised/corrected"]);
    expect(find(f.invalidPhoneUser)).toEqual(["invalid_phone/skipped"]);
    expect(find(b.customerDeleted)).toEqual(["orphan_customer_deleted/skipped"]);
    expect(find(b.listingDeleted)).toEqual(["orphan_listing_deleted/skipped"]);
    expect(find(f.unpaidPassCustomer.id)).toEqual(["labour_access_without_payment/skipped"]);
    // The invalid-phone account's notification: its parent never made it.
    expect(entries.some((e) => e.source_table === "notifications" && e.reason === "parent_not_imported")).toBe(true);
    expect(first.markdown).toContain("| bookings | duplicate_booking_app_retry | skipped | 1 |");
    const imported = await query(url, "SELECT count(*)::int AS n FROM bookings WHERE id = ANY($1)", [
      [b.retriedDuplicate, b.rejectedThenCompleted, b.customerDeleted],
    ]);
    expect(imported).toEqual([{ n: 0 }]);
  });

  it("a re-run writes nothing", async () => {
    // services_master too: the catalogue's cache version moves only when listings were written.
    const tables = [...DOMAIN_TABLES, "services_master"];
    const before = await snapshot(url, [], tables);
    const again = await run(url);
    expect(again.ok).toBe(true);
    expect(again.summary.tables.reduce((n, t) => n + t.written, 0)).toBe(0);
    expect(again.summary.tables.reduce((n, t) => n + t.alreadyPresent, 0)).toBe(first.summary.tables.reduce((n, t) => n + t.written, 0));
    expect(await snapshot(url, [], tables)).toEqual(before);
  });

  it("fails the run when the target no longer matches the source (here: a listing's expiry moved)", async () => {
    await query(url, "UPDATE provider_services SET expires_at = expires_at + interval '1 day' WHERE id = $1", [f.listing.id]);
    const again = await run(url);
    const listings = again.summary.invariants.find((i) => i.name === "active listings and their expiry")!;
    expect(again.ok).toBe(false);
    expect(listings.ok).toBe(false);
    expect(listings.mismatches[0]).toContain(f.listing.id);
  });
});

describe("dry run, --strict and resumption", () => {
  it("a dry run writes nothing and reports what the import will do", async () => {
    const url = await target();
    const before = await snapshot(url);
    const dry = await run(url, { mode: "dry-run" });
    expect(dry.ok).toBe(true);
    expect(await snapshot(url)).toEqual(before);
    expect(await schemaExists(url)).toBe(false);
    const real = await run(url);
    expect(dry.summary.tables).toEqual(real.summary.tables);
  });

  it("--strict fails on dirty data and commits nothing", async () => {
    const url = await target();
    const before = await snapshot(url);
    const strict = await run(url, { mode: "strict" });
    expect(strict.ok).toBe(false);
    expect(strict.summary.strictViolation?.[0]?.sourceTable).toBe("users");
    expect(await snapshot(url)).toEqual(before);
    expect(await schemaExists(url)).toBe(false);
  });

  it("an interrupted run resumes after its last committed batch and ends like an uninterrupted one", async () => {
    const reference = await target();
    await run(reference);
    const url = await target();
    let batches = 0;
    await expect(
      run(url, {
        batchSize: 4,
        onProgress: (p) => {
          if (p.step === "bookings" && !p.done && ++batches === 2) throw new Error("power cut");
        },
      }),
    ).rejects.toThrow("power cut");
    const [partial] = await query<{ n: number }>(url, "SELECT count(*)::int AS n FROM bookings");
    expect(partial!.n).toBeGreaterThan(0);
    const resumed = await run(url);
    expect(resumed.summary.resumed).toBe(true);
    expect(resumed.ok).toBe(true);
    // Rows committed before the cut are not written twice: the tables equal a clean run's (but for
    // deleted_at, which the importer sets to each run's own instant).
    expect(await snapshot(url, ["deleted_at"])).toEqual(await snapshot(reference, ["deleted_at"]));
  });

  it("the CLI prints a progress line per table and exits 0 when every invariant holds, 1 when one fails", async () => {
    const url = await target();
    const cli = path.resolve("scripts/import-legacy/cli.ts");
    const dir = await mkdtemp(path.join(reports, "cli-"));
    const { stdout } = await promisify(execFile)(process.execPath, [cli, "--from", legacy.url, "--to", url, "--report-dir", dir]);
    expect(stdout).toMatch(/^bookings\s+\[#+\]\s+100%\s+11\/11/m);
    expect(stdout).toContain("all invariants hold");
    await query(url, "UPDATE users SET role = 'provider' WHERE id = $1", [f.customer.id]);
    const failed = await promisify(execFile)(process.execPath, [cli, "--from", legacy.url, "--to", url, "--report-dir", dir]).catch(
      (e) => e,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`${f.customer.id}: role user became provider`);
  });
});
