/**
 * An old production database in miniature: the old schema (legacy-schema.sql) with the rows its
 * users and its bugs left behind. Every clean row stands for something a user must keep after the switch-over; every dirty row is one kind of dirt the
 * importer must quarantine or correct, never drop silently.
 *
 * Written the way the old server wrote: its connections ran `SET timezone = 'Asia/Kolkata'`, so
 * `now()` and naive timestamps are India wall-clock; columns it filled from JavaScript Dates on a
 * UTC server (labour access window) hold UTC wall-clock; DATE columns are calendar days.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashSync } from "bcryptjs";
import pg from "pg";
import { createDatabase, dropDatabase } from "../../../scripts/db/embedded.mjs";
import { importLegacy } from "../../../scripts/import-legacy/importer.ts";

export const LEGACY_SCHEMA = readFileSync(fileURLToPath(new URL("./legacy-schema.sql", import.meta.url)), "utf8");

const DAY = 86_400_000;
const IST_MS = 330 * 60_000;
/** India wall-clock text of an instant, as a naive `timestamp` filled by `now()` holds it. */
export const istNaive = (d: Date) => new Date(d.getTime() + IST_MS).toISOString().replace("T", " ").replace("Z", "");
/** UTC wall-clock text, as a naive column filled from a JavaScript Date on a UTC server holds it. */
export const utcNaive = (d: Date) => d.toISOString().replace("T", " ").replace("Z", "");
/** India calendar date of an instant. */
export const istDay = (d: Date) => new Date(d.getTime() + IST_MS).toISOString().slice(0, 10);
const daysFromNow = (n: number) => new Date(Date.now() + n * DAY);

export type LegacyFacts = ReturnType<typeof facts>;

function facts() {
  const id = () => randomUUID();
  return {
    customer: { id: id(), storedPhone: "+91 41000 00001", phone: "4100000001", password: "OldPass#2024", name: "Asha Legacy" },
    provider: { id: id(), phone: "4100000002", password: "Provider#2024", name: "Ravi Legacy Plumber", profileId: id() },
    labourProvider: { id: id(), phone: "4100000003", password: "Labour#2024", name: "Lakshmi Legacy Labour", profileId: id() },
    /** A customer whose labour pass the old server shows active although no payment exists. */
    unpaidPassCustomer: { id: id(), phone: "4100000004", password: "Unpaid#2024" },
    twin: { first: id(), second: id(), phone: "4100000005" },
    invalidPhoneUser: id(),
    admin: { id: id(), phone: "4100000009" },
    listing: { id: id(), paidThrough: istDay(daysFromNow(20)), startedOn: istDay(daysFromNow(-10)) },
    duplicateListing: id(),
    activeWithoutEnd: { id: id(), profileId: id(), userId: id() },
    labourListing: { id: id(), paidThrough: istDay(daysFromNow(335)) },
    labourPayment: { id: id(), orderId: `LABOUR_${Date.now()}_a1`, paidAt: daysFromNow(-2).toISOString() },
    listingPayment: { id: id(), orderId: `ORDER_${Date.now()}_p1`, paidAt: daysFromNow(-10).toISOString() },
    failedButPaid: { id: id(), orderId: `ORDER_${Date.now()}_fp`, txnId: "20260101111212800110168000000001" },
    supersededOrder: { older: id(), newer: id() },
    bookings: {
      completed: id(),
      pending: id(),
      accepted: id(),
      cancelled: id(),
      retried: id(),
      retriedDuplicate: id(),
      rejectedThenCompleted: id(),
      customerDeleted: id(),
      listingDeleted: id(),
      unknownSubService: id(),
      zeroPrice: id(),
    },
    ratings: { byCustomer: id(), byProvider: id(), onPending: id() },
    callLog: id(),
    report: id(),
    homeAddresses: { older: id(), newer: id() },
  };
}

/**
 * Creates database `name` on the server of `adminUrl` holding the old schema and the story above.
 * Returns its URL and the facts tests assert on.
 */
export async function createLegacyFixture(
  adminUrl: string,
  name: string,
): Promise<{ url: string; facts: LegacyFacts; drop: () => Promise<void> }> {
  await dropDatabase(adminUrl, name).catch(() => {});
  const url = await createDatabase(adminUrl, name);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const f = facts();
  try {
    await db.query(`SET client_min_messages = warning; SET timezone = 'Asia/Kolkata'`);
    await db.query(LEGACY_SCHEMA);
    await fill(db, f);
  } finally {
    await db.end();
  }
  return { url, facts: f, drop: () => dropDatabase(adminUrl, name) };
}

async function fill(db: pg.Client, f: LegacyFacts): Promise<void> {
  const hash = (pw: string) => hashSync(pw, 4);
  const svc = async (name: string) => (await db.query("SELECT id FROM services_master WHERE name = $1", [name])).rows[0].id as string;
  const plumber = await svc("plumber");
  const labors = await svc("labors");
  const q = (sql: string, params: unknown[] = []) => db.query(sql, params);
  const created = istNaive(daysFromNow(-60));

  // Accounts. The customer's phone was stored in another format than today's 10 digits.
  const user = (
    id: string,
    name: string,
    phone: string,
    role: string,
    password: string,
    email: string | null,
    extra: Record<string, unknown> = {},
  ) =>
    q(
      `INSERT INTO users (id, full_name, email, phone, password, role, is_verified, created_at, labour_access_status,
                          labour_access_start_date, labour_access_end_date)
       VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $9, $10)`,
      [
        id,
        name,
        email,
        phone,
        password,
        role,
        extra.created ?? created,
        extra.labourStatus ?? "inactive",
        extra.labourStart ?? null,
        extra.labourEnd ?? null,
      ],
    );
  const labourStart = new Date(f.labourPayment.paidAt);
  await user(f.customer.id, f.customer.name, f.customer.storedPhone, "user", hash(f.customer.password), "Asha.Legacy@Example.COM", {
    labourStatus: "active",
    labourStart: utcNaive(labourStart),
    labourEnd: utcNaive(new Date(labourStart.getTime() + 7 * DAY)),
  });
  await user(f.provider.id, f.provider.name, f.provider.phone, "provider", hash(f.provider.password), "ravi.legacy@example.com");
  await user(f.labourProvider.id, f.labourProvider.name, f.labourProvider.phone, "provider", hash(f.labourProvider.password), null);
  await user(f.unpaidPassCustomer.id, "Unpaid Pass", f.unpaidPassCustomer.phone, "user", hash(f.unpaidPassCustomer.password), null, {
    labourStatus: "active",
    labourStart: utcNaive(daysFromNow(-1)),
    labourEnd: utcNaive(daysFromNow(6)),
  });
  // Twin accounts from two racing OTP verifications, the second with the number spelt differently.
  await user(f.twin.first, "Twin Legacy", f.twin.phone, "user", hash("Twin#2024"), null, { created: istNaive(daysFromNow(-30)) });
  await user(f.twin.second, "Twin Legacy", `+91-${f.twin.phone}`, "user", hash("Twin#2024"), null, {
    created: istNaive(new Date(daysFromNow(-30).getTime() + 800)),
  });
  await user(f.invalidPhoneUser, "Broken Phone", "12345", "user", hash("Broken#2024"), null);
  await user(f.admin.id, "Legacy Admin", f.admin.phone, "admin", hash("Admin#2024"), null);
  await user(f.activeWithoutEnd.userId, "No End Date", "4100000006", "provider", hash("NoEnd#2024"), null);

  await q(
    `INSERT INTO blocked_identifiers (identifier_type, identifier_value, role, reason, blocked_at)
     VALUES ('phone', '+91 4100000099', 'user', 'Removed by admin due to reports or policy violations', now())`,
  );

  // Addresses: every registration added another home address; the newest is current.
  await q(
    `INSERT INTO addresses (id, user_id, type, state, city, full_address, created_at) VALUES
       ($1, $3, 'home', 'Karnataka', 'Mysuru', 'Old street 1', $4), ($2, $3, 'home', 'Karnataka', 'Bengaluru', 'MG Road 5', $5),
       (gen_random_uuid(), $6, 'home', 'Karnataka', 'Bengaluru', 'Koramangala 4th block', $4),
       (gen_random_uuid(), NULL, 'office', 'Kerala', 'Kochi', 'Nobody''s office', $4)`,
    [f.homeAddresses.older, f.homeAddresses.newer, f.provider.id, istNaive(daysFromNow(-50)), istNaive(daysFromNow(-10)), f.customer.id],
  );
  await q(`INSERT INTO user_notification_settings (user_id, settings) VALUES ($1, '{"promotional": true, "reminders": false}')`, [
    f.customer.id,
  ]);
  // One device used by two accounts: the token belongs to the one who registered it last.
  await q(
    `INSERT INTO user_push_tokens (user_id, push_token, is_active, last_seen) VALUES
       ($1, 'ExponentPushToken[legacy-shared]', true, $3), ($2, 'ExponentPushToken[legacy-shared]', true, $4),
       ($1, 'ExponentPushToken[legacy-asha]', true, $4)`,
    [f.customer.id, f.twin.first, istNaive(daysFromNow(-5)), istNaive(daysFromNow(-1))],
  );

  // Providers and listings.
  await q(
    `INSERT INTO provider_profiles (id, user_id, years_of_experience, service_description, created_at) VALUES
       ($1, $2, 8, 'Taps, showers and full bathroom plumbing', $5), ($3, $4, 3, 'Daily labour', $5), ($6, $7, 120, 'Decades', $5)`,
    [
      f.provider.profileId,
      f.provider.id,
      f.labourProvider.profileId,
      f.labourProvider.id,
      created,
      f.activeWithoutEnd.profileId,
      f.activeWithoutEnd.userId,
    ],
  );
  await q(
    `INSERT INTO provider_services (id, provider_id, service_id, payment_status, payment_start_date, payment_end_date, created_at, working_proof_urls) VALUES
       ($1, $2, $3, 'active', $4, $5, $6, ARRAY['https://res.cloudinary.com/demo/proof1.jpg']),
       ($7, $2, $3, 'pending', NULL, NULL, $8, '{}'),
       ($9, $10, $11, 'active', $12, $13, $6, '{}'),
       ($14, $15, $3, 'active', $4, NULL, $6, '{}')`,
    [
      f.listing.id,
      f.provider.profileId,
      plumber,
      f.listing.startedOn,
      f.listing.paidThrough,
      created,
      f.duplicateListing,
      istNaive(daysFromNow(-9)),
      f.labourListing.id,
      f.labourProvider.profileId,
      labors,
      istDay(daysFromNow(-30)),
      f.labourListing.paidThrough,
      f.activeWithoutEnd.id,
      f.activeWithoutEnd.profileId,
    ],
  );
  await q(
    `INSERT INTO provider_sub_services (provider_service_id, sub_service_id, price) VALUES
       ($1, 'tap-installation', 300), ($1, 'shower-installation', 500), ($1, 'no-such-sub-service', 100),
       ($2, 'per-hour-charges', 200)`,
    [f.listing.id, f.labourListing.id],
  );

  // Bookings of the customer with the plumber.
  const booking = (
    id: string,
    o: {
      user?: string | null;
      listing?: string | null;
      day: number;
      time: string;
      services: string;
      status: string;
      value?: number;
      extra?: string;
      created?: Date;
    },
  ) =>
    q(
      `INSERT INTO bookings (id, user_id, provider_service_id, provider_id, selected_service, appointment_date, appointment_time, status,
                             service_charge_value, created_at, updated_at, provider_name, customer_name, rejection_reason, cancellation_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14)`,
      [
        id,
        o.user === undefined ? f.customer.id : o.user,
        o.listing === undefined ? f.listing.id : o.listing,
        f.provider.profileId,
        o.services,
        istDay(daysFromNow(o.day)),
        o.time,
        o.status,
        o.value ?? 300,
        istNaive(o.created ?? daysFromNow(Math.min(o.day, 0) - 3)),
        f.provider.name,
        f.customer.name,
        o.extra === "rejected" ? "Busy that day" : null,
        o.extra === "cancelled" ? "Plans changed" : null,
      ],
    );
  const b = f.bookings;
  const retryAt = daysFromNow(-1);
  await booking(b.completed, { day: -7, time: "10:00 AM", services: "tap-installation", status: "completed" });
  await booking(b.pending, { day: 3, time: "11:30 AM", services: "shower-installation", status: "pending", value: 500 });
  await booking(b.accepted, { day: 4, time: "2:00 PM", services: "tap-installation", status: "accepted" });
  await booking(b.cancelled, { day: 5, time: "9:00 AM", services: "tap-installation", status: "cancelled", extra: "cancelled" });
  // The app retried a POST that answered 500 after committing: the same booking twice.
  await booking(b.retried, { day: 6, time: "4:00 PM", services: "tap-installation", status: "pending", created: retryAt });
  await booking(b.retriedDuplicate, {
    day: 6,
    time: "4:00 PM",
    services: "tap-installation",
    status: "pending",
    created: new Date(retryAt.getTime() + 2000),
  });
  // A provider completed a booking they had rejected.
  await booking(b.rejectedThenCompleted, {
    day: -3,
    time: "12:00 PM",
    services: "tap-installation",
    status: "completed",
    extra: "rejected",
  });
  // Orphans of account and listing deletions (ON DELETE SET NULL).
  await booking(b.customerDeleted, { user: null, day: -20, time: "10:00 AM", services: "tap-installation", status: "completed" });
  await booking(b.listingDeleted, {
    listing: null,
    day: -15,
    time: "10:00 AM",
    services: "tap-installation",
    status: "cancelled",
    extra: "cancelled",
  });
  await booking(b.unknownSubService, { day: 8, time: "10:00", services: "tap-installation,no-longer-offered", status: "pending" });
  await booking(b.zeroPrice, { day: 9, time: "3:30 PM", services: "shower-installation", status: "accepted", value: 0 });
  await q(`UPDATE bookings SET report_reason = 'Unprofessional behaviour', report_description = 'Left early' WHERE id = $1`, [b.completed]);

  await q(
    `INSERT INTO ratings (id, booking_id, rating, review, rater_type, created_at) VALUES
       ($1, $4, 5, 'Fixed the tap in ten minutes', 'user', $6), ($2, $4, 4, 'Polite customer', 'provider', $6),
       ($3, $5, 2, 'Rated before the visit?', 'user', $6)`,
    [f.ratings.byCustomer, f.ratings.byProvider, f.ratings.onPending, b.completed, b.pending, istNaive(daysFromNow(-6))],
  );
  await q(
    `INSERT INTO user_reports_providers (id, reported_by_user_id, reported_provider_id, incident_date, incident_type, description, status)
     VALUES ($1, $2, $3, $4, 'Unprofessional behaviour', 'Left early', NULL)`,
    [f.report, f.customer.id, f.provider.id, istDay(daysFromNow(-7))],
  );
  await q(
    `INSERT INTO provider_reports_users (provider_id, customer_name, customer_user_id, incident_date, incident_type, description, evidence)
     VALUES ($1, 'Asha', $2, $3, 'No show', 'Was not home', '["https://res.cloudinary.com/demo/evidence.jpg"]')`,
    [f.provider.id, f.customer.id, istDay(daysFromNow(-2))],
  );
  await q(
    `INSERT INTO notifications (user_id, title, message, is_read, role, created_at) VALUES
       ($1, 'Welcome to BuildXpert! 🎉', 'Thanks for joining', true, 'user', $3),
       ($1, 'Booking Accepted', 'Your booking for Plumber has been accepted.', false, 'user', $4),
       ($2, 'Welcome to BuildXpert! 🎉', 'Thanks for joining', false, 'user', $3)`,
    [f.customer.id, f.invalidPhoneUser, created, istNaive(daysFromNow(-1))],
  );
  await q(
    `INSERT INTO call_logs (id, booking_id, session_id, call_sid, caller_type, caller_phone, call_status, call_duration, created_at)
     VALUES ($1, $2, 'sess-1', 'call-1', 'user', $3, 'initiated', 0, $4)`,
    [f.callLog, b.accepted, f.customer.phone, istNaive(daysFromNow(-1))],
  );
  await q(`INSERT INTO call_events (call_log_id, event_type, event_data) VALUES ($1, 'call_initiated', '{"from": "user"}')`, [f.callLog]);

  // Payments. The plumber's paid listing fee; a payment Paytm took that the old server recorded as
  // failed (its status call timed out, the gateway's answer is in payment_api_logs); two open
  // orders for one listing (the newer supersedes the older).
  const pay = f.listingPayment;
  await q(
    `INSERT INTO payment_transactions (id, order_id, user_id, provider_service_id, amount, status, transaction_id, service_name,
                                       payment_gateway_response, created_at, completed_at, updated_at)
     VALUES ($1, $2, $3, $4, 99.00, 'completed', '20260101111212800110168000000777', 'plumber',
             '{"STATUS": "TXN_SUCCESS", "RESPCODE": "01", "RESPMSG": "Txn Success", "TXNAMOUNT": "99.00"}', $5, $5, $5)`,
    [pay.id, pay.orderId, f.provider.id, f.listing.id, istNaive(new Date(pay.paidAt))],
  );
  const fp = f.failedButPaid;
  await q(
    `INSERT INTO payment_transactions (id, order_id, user_id, provider_service_id, amount, status, service_name, error_details, created_at, completed_at, updated_at)
     VALUES ($1, $2, $3, $4, 99.00, 'failed', 'plumber', '{"error": "fetch failed"}', $5, $5, $5)`,
    [fp.id, fp.orderId, f.provider.id, f.duplicateListing, istNaive(daysFromNow(-9))],
  );
  await q(
    `INSERT INTO payment_api_logs (payment_transaction_id, api_endpoint, request_method, response_status, response_body, "timestamp")
     VALUES ($1, 'https://securegw.paytm.in/merchant-status/getTxnStatus', 'POST', 200,
             jsonb_build_object('STATUS', 'TXN_SUCCESS', 'TXNID', $2::text, 'TXNAMOUNT', '99.00', 'ORDERID', $3::text), $4)`,
    [fp.id, fp.txnId, fp.orderId, istNaive(daysFromNow(-9))],
  );
  await q(
    `INSERT INTO payment_transactions (id, order_id, user_id, provider_service_id, amount, status, created_at) VALUES
       ($1, $3, $5, $6, 99.00, 'pending', $7), ($2, $4, $5, $6, 99.00, 'pending', $8)`,
    [
      f.supersededOrder.older,
      f.supersededOrder.newer,
      `ORDER_${Date.now()}_o1`,
      `ORDER_${Date.now()}_o2`,
      f.provider.id,
      f.duplicateListing,
      istNaive(daysFromNow(-9)),
      istNaive(daysFromNow(-8)),
    ],
  );
  await q(
    `INSERT INTO payment_events (payment_transaction_id, event_type, event_data, user_id, "timestamp") VALUES
       ($1, 'payment_initiated', '{"amount": 99}', $2, $3), ($1, 'payment_completed', '{"serviceActivated": true}', $2, $3)`,
    [pay.id, f.provider.id, istNaive(new Date(pay.paidAt))],
  );
  // The customer's labour pass: paid two days ago, the window stored from JavaScript Dates (UTC).
  const lp = f.labourPayment;
  await q(
    `INSERT INTO labour_payment_transactions (id, order_id, user_id, amount, status, service_name, transaction_id, created_at, completed_at, updated_at)
     VALUES ($1, $2, $3, 99.00, 'completed', 'labors', '20260101111212800110168000000888', $4, $4, $4)`,
    [lp.id, lp.orderId, f.customer.id, istNaive(new Date(lp.paidAt))],
  );
  await q(
    `INSERT INTO labour_payment_events (payment_transaction_id, event_type, event_data, user_id, "timestamp")
     VALUES ($1, 'labour_payment_completed', '{"validityDays": 7}', $2, $3)`,
    [lp.id, f.customer.id, istNaive(new Date(lp.paidAt))],
  );
}

/**
 * The worker suite's switch-over: the fixture imported into the suite's database (by the global
 * setup, before any worker test runs), so workerd tests can sign in as the old users. Throws if the
 * import's verification fails.
 */
export async function importFixtureInto(targetUrl: string): Promise<{ facts: LegacyFacts; drop: () => Promise<void> }> {
  const legacy = await createLegacyFixture(targetUrl, `bx_legacy_${process.pid}_${Date.now().toString(36)}`);
  const reportDir = await mkdtemp(path.join(os.tmpdir(), "bx-legacy-import-"));
  try {
    const report = await importLegacy({ from: legacy.url, to: targetUrl, reportDir });
    if (!report.ok) throw new Error(`legacy fixture import failed its verification:\n${report.markdown}`);
  } finally {
    await rm(reportDir, { recursive: true, force: true });
  }
  return { facts: legacy.facts, drop: legacy.drop };
}
