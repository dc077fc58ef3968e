import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { OPEN_BOOKINGS_PER_PROVIDER } from "../../src/bookings/create";
import { REPORTS_PER_DAY } from "../../src/bookings/feedback";
import { api, config, istSlot, type SeededUser, seedListing, seedUser, testDb } from "../harness";

/**
 * Per-account caps that must hold when the requests arrive at once (issue 11 #10, #6): reports per
 * day, open bookings per customer and provider; and report evidence that is a link, not a script.
 */

const rows = async (q: ReturnType<typeof sql>) => (await testDb().http.execute(q)).rows as Record<string, unknown>[];

const customerReport = (provider: SeededUser, over: Record<string, unknown> = {}) =>
  api("POST", "/api/providers/report-customer", {
    token: provider.token,
    body: {
      customerName: "Asha",
      incidentDate: "2026-01-10",
      incidentType: "Other",
      description: "Abusive on the phone",
      evidence: [],
      ...over,
    },
  });

/** `n` bookings of the customer (straight into the table, so no booking cap applies), one slot each. */
async function seedBookings(customer: SeededUser, n: number): Promise<string[]> {
  const listing = await seedListing();
  const { rows: out } = await testDb().http.execute<{ id: string }>(
    sql`insert into bookings (customer_id, provider_service_id, provider_id, selected_sub_services, total_price_paise,
                              appointment_at, appointment_date, appointment_time, idempotency_key)
        select ${customer.id}, ps.id, ps.provider_id, '[{"slug":"tap-installation","pricePaise":49900}]'::jsonb, 49900,
               now() + make_interval(days => 3, hours => g), (now() + make_interval(days => 3, hours => g))::date, '10:00 AM',
               ${`caps-${crypto.randomUUID()}`} || g
          from provider_services ps, generate_series(1, ${n}) g
         where ps.id = ${listing.providerServiceId}
        returning id`,
  );
  return out.map((r) => r.id);
}

describe(`reports: at most ${REPORTS_PER_DAY} a day per account, also when sent at once`, () => {
  it("10 concurrent customer reports from one provider: 5 stored, the rest 429 in the envelope", async () => {
    const provider = await seedUser("provider");
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => customerReport(provider, { description: `Incident ${i}` })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(REPORTS_PER_DAY).fill(201), ...Array(10 - REPORTS_PER_DAY).fill(429)]);
    for (const r of results.filter((x) => x.status === 429)) {
      expect(r.body).toMatchObject({ status: "error", errorCode: "RATE_LIMITED" });
      expect(r.body.retryAfter).toBeGreaterThan(0);
    }
    expect(await rows(sql`select id from provider_reports_users where provider_id = ${provider.id}`)).toHaveLength(REPORTS_PER_DAY);
  });

  it("10 concurrent provider reports from one customer (10 bookings): 5 stored", async () => {
    const customer = await seedUser("user");
    const bookingIds = await seedBookings(customer, 10);
    const results = await Promise.all(
      bookingIds.map((id) =>
        api("POST", `/api/bookings/${id}/report`, {
          token: customer.token,
          body: { reportReason: "No show", reportDescription: "No show" },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(REPORTS_PER_DAY);
    expect(results.filter((r) => r.status === 429)).toHaveLength(10 - REPORTS_PER_DAY);
    expect(await rows(sql`select id from user_reports_providers where reporter_id = ${customer.id}`)).toHaveLength(REPORTS_PER_DAY);
  });
});

describe("the admin inbox filtered to one direction", () => {
  it("?type=provider lists providers' reports (the provider-only select stood alone without column names: 500)", async () => {
    const admin = await seedUser("admin");
    const provider = await seedUser("provider");
    const filed = await customerReport(provider, { description: "Filed for the inbox filter" });
    expect(filed.status).toBe(201);
    for (const type of ["provider", "user", "all"]) {
      const r = await api("GET", `/api/admin/reports?type=${type}&limit=1000`, { token: admin.token });
      expect(r.status, type).toBe(200);
      const ids = (r.body.data.reports as { id: string }[]).map((x) => x.id);
      expect(ids.includes(filed.body.data.report.id), type).toBe(type !== "user");
    }
    const [mine] = (await api("GET", "/api/admin/reports?type=provider&limit=1000", { token: admin.token })).body.data.reports.filter(
      (x: { id: string }) => x.id === filed.body.data.report.id,
    );
    expect(mine).toMatchObject({ report_source: "provider_report", reporter_type: "Provider", report_type: "Other", status: "open" });
    expect(typeof mine.created_at).toBe("string");
  });
});

describe("report evidence is an https link (or one of our own media URLs)", () => {
  it("javascript:, data: and plain-http links are refused with the field named; https and own media are stored", async () => {
    const provider = await seedUser("provider");
    for (const bad of [
      "javascript:alert(document.cookie)",
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "http://evil.example/x.jpg",
    ]) {
      const r = await customerReport(provider, { evidence: ["https://images.pexels.com/photos/1.jpeg", bad] });
      expect(r.status, bad).toBe(400);
      expect(r.body).toMatchObject({ status: "error", errorCode: "VALIDATION_ERROR" });
      expect(
        (r.body.errors as { field: string }[]).map((e) => e.field),
        bad,
      ).toContain("evidence.1");
    }
    expect(await rows(sql`select id from provider_reports_users where provider_id = ${provider.id}`)).toEqual([]);
    const own = `${config().PUBLIC_BASE_URL}/media/reports/${crypto.randomUUID()}.jpg`;
    const good = await customerReport(provider, { evidence: ["https://images.pexels.com/photos/1.jpeg", own] });
    expect(good.status).toBe(201);
    const [stored] = await rows(sql`select evidence from provider_reports_users where provider_id = ${provider.id}`);
    expect(stored!.evidence).toEqual(["https://images.pexels.com/photos/1.jpeg", own]);
  });
});

describe(`bookings: at most ${OPEN_BOOKINGS_PER_PROVIDER} open per customer and provider`, () => {
  const book = (customer: SeededUser, providerServiceId: string, day: number, services = ["tap-installation"]) =>
    api("POST", "/api/bookings", { token: customer.token, body: { providerServiceId, selectedServices: services, ...istSlot(day, 11) } });

  it("the next one is a 409 the app shows; a retry of an open one still answers it; cancelling frees a place", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const made = [];
    for (let day = 1; day <= OPEN_BOOKINGS_PER_PROVIDER; day++) made.push(await book(customer, listing.providerServiceId, day));
    expect(made.map((r) => r.status)).toEqual(Array(OPEN_BOOKINGS_PER_PROVIDER).fill(201));

    const over = await book(customer, listing.providerServiceId, 9);
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ status: "error", errorCode: "CONFLICT" });
    expect(over.body.message).toMatch(/too many open bookings/i);

    // The apps retry POSTs: the retry of an existing booking is not refused by the cap.
    const retry = await book(customer, listing.providerServiceId, 1);
    expect(retry.status).toBe(200);
    expect(retry.body.data.booking.id).toBe(made[0]!.body.data.booking.id);

    // Another provider is another budget.
    expect((await book(customer, (await seedListing()).providerServiceId, 9)).status).toBe(201);

    const cancelled = await api("PUT", `/api/bookings/${made[0]!.body.data.booking.id}/cancel`, { token: customer.token, body: {} });
    expect(cancelled.status).toBe(200);
    expect((await book(customer, listing.providerServiceId, 9)).status).toBe(201);
  });

  it("10 different bookings sent at once: exactly the cap is stored", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => book(customer, listing.providerServiceId, 1 + i)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(OPEN_BOOKINGS_PER_PROVIDER);
    expect(results.filter((r) => r.status === 409)).toHaveLength(10 - OPEN_BOOKINGS_PER_PROVIDER);
    const open = await rows(sql`select id from bookings where customer_id = ${customer.id} and status in ('pending', 'accepted')`);
    expect(open).toHaveLength(OPEN_BOOKINGS_PER_PROVIDER);
  });
});
