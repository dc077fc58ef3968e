import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type ApiResponse, api, grantLabourAccess, istSlot, seedListing, seedUser, testDb } from "../harness";

/** Booking creation: idempotency under the apps' retries, slot races, server-side pricing and validation. */

const rows = async (q: ReturnType<typeof sql>) => (await testDb().http.execute(q)).rows as Record<string, unknown>[];

/** Database round trips the request cost (session check included), as the worker reports them outside production. */
function expectRoundTrips(res: ApiResponse, n: number, what = "") {
  expect(res.status, `${what} ${res.text.slice(0, 200)}`).toBeLessThan(300);
  expect(Number(res.headers.get("x-db-round-trips")), what).toBe(n);
}
const bookingsOf = (customerId: string) => rows(sql`select id, status, total_price_paise from bookings where customer_id = ${customerId}`);

function book(
  token: string,
  providerServiceId: string,
  slot = istSlot(3),
  services = ["tap-installation"],
  headers?: Record<string, string>,
) {
  return api("POST", "/api/bookings", {
    token,
    headers,
    body: { providerServiceId, selectedService: services.join(","), selectedServices: services, ...slot },
  });
}

describe("POST /api/bookings is idempotent under the apps' retries", () => {
  it("the same POST sent three times yields one booking (201, then the original with 200)", async () => {
    const { providerServiceId } = await seedListing();
    const customer = await seedUser("user");
    const slot = istSlot(4, 11);
    const first = await book(customer.token, providerServiceId, slot);
    const second = await book(customer.token, providerServiceId, slot);
    const third = await book(customer.token, providerServiceId, slot);
    expect(first.status).toBe(201);
    // The listing read (with the session check), then one batch: cap lock, insert with its outbox rows, the booking.
    expectRoundTrips(first, 2);
    expect([second.status, third.status]).toEqual([200, 200]);
    expectRoundTrips(second, 2);
    expect(second.body.data.booking.id).toBe(first.body.data.booking.id);
    expect(third.body.data.booking.id).toBe(first.body.data.booking.id);
    expect(await bookingsOf(customer.id)).toHaveLength(1);
    // One notification for the provider, not three.
    const notes = await rows(sql`select id from notifications where dedup_key like ${`booking:${first.body.data.booking.id}:created:%`}`);
    expect(notes).toHaveLength(2);
  });

  it("three concurrent identical POSTs (retry racing the original) still yield one booking", async () => {
    const { providerServiceId } = await seedListing();
    const customer = await seedUser("user");
    const slot = istSlot(5, 9, 30);
    const results = await Promise.all([1, 2, 3].map(() => book(customer.token, providerServiceId, slot)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(results.map((r) => r.body.data.booking.id)).size).toBe(1);
    expect(await bookingsOf(customer.id)).toHaveLength(1);
  });

  it("a second, different booking for the same listing and slot is refused with the apps' message", async () => {
    const { providerServiceId } = await seedListing();
    const customer = await seedUser("user");
    const slot = istSlot(4, 15);
    expect((await book(customer.token, providerServiceId, slot, ["tap-installation"])).status).toBe(201);
    const dup = await book(customer.token, providerServiceId, slot, ["shower-installation"]);
    expect(dup.status).toBe(409);
    expect(dup.body.message).toMatch(/already have a booking/);
    expect(await bookingsOf(customer.id)).toHaveLength(1);
  });

  it("after cancelling, the same slot can be booked again (a new booking, not the cancelled one)", async () => {
    const { providerServiceId } = await seedListing();
    const customer = await seedUser("user");
    const slot = istSlot(6, 10);
    const first = await book(customer.token, providerServiceId, slot);
    expect((await api("PUT", `/api/bookings/${first.body.data.booking.id}/cancel`, { token: customer.token, body: {} })).status).toBe(200);
    const again = await book(customer.token, providerServiceId, slot);
    expect(again.status).toBe(201);
    expect(again.body.data.booking.id).not.toBe(first.body.data.booking.id);
    const retry = await book(customer.token, providerServiceId, slot);
    expect(retry.status).toBe(200);
    expect(retry.body.data.booking.id).toBe(again.body.data.booking.id);
  });

  it("an explicit Idempotency-Key replays its booking and cannot be reused for another one", async () => {
    const { providerServiceId } = await seedListing();
    const customer = await seedUser("user");
    const key = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const a = await book(customer.token, providerServiceId, istSlot(7, 10), ["tap-installation"], key);
    const b = await book(customer.token, providerServiceId, istSlot(7, 10), ["tap-installation"], key);
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(b.body.data.booking.id).toBe(a.body.data.booking.id);
    const other = await book(customer.token, providerServiceId, istSlot(8, 10), ["tap-installation"], key);
    expect(other.status).toBe(422);
    expect(await bookingsOf(customer.id)).toHaveLength(1);
  });
});

describe("two customers racing for one slot", () => {
  it("both requests are recorded, but the provider can accept only one of them", async () => {
    const { providerServiceId, provider } = await seedListing();
    const [alice, bob] = await Promise.all([seedUser("user"), seedUser("user")]);
    const slot = istSlot(3, 12);
    const [a, b] = await Promise.all([book(alice.token, providerServiceId, slot), book(bob.token, providerServiceId, slot)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const ids = [a.body.data.booking.id, b.body.data.booking.id];
    const accepts = await Promise.all(
      ids.map((id) => api("PUT", `/api/providers/bookings/${id}/status`, { token: provider.token, body: { status: "accepted" } })),
    );
    expect(accepts.map((r) => r.status).sort()).toEqual([200, 409]);
    // The booking read (with the session check), then one batch: the compare-and-set update with its outbox rows.
    expectRoundTrips(accepts.find((r) => r.status === 200)!, 2);
    const loser = accepts.find((r) => r.status === 409)!;
    expect(loser.body.message).toMatch(/already accepted another booking/);
    const states = await rows(sql`select status::text as status from bookings where id in (${ids[0]}, ${ids[1]})`);
    expect(states.map((s) => s.status).sort()).toEqual(["accepted", "pending"]);
  });
});

describe("price, time and listing rules", () => {
  it("the price is the provider's, summed on the server and frozen on the booking", async () => {
    const listing = await seedListing({ prices: { "tap-installation": 30000, "shower-installation": 55000 } });
    const customer = await seedUser("user");
    const r = await book(customer.token, listing.providerServiceId, istSlot(2), ["tap-installation", "shower-installation"]);
    expect(r.status).toBe(201);
    expect(r.body.data.booking.total_price).toBe(850);
    await testDb().http.execute(
      sql`update provider_sub_services set price_paise = 99900 where provider_service_id = ${listing.providerServiceId}`,
    );
    const [b] = await bookingsOf(customer.id);
    expect(b!.total_price_paise).toBe(85000);
    const list = await api("GET", "/api/bookings", { token: customer.token });
    expect(list.body.data.bookings[0].selected_services).toEqual([
      { serviceId: "tap-installation", serviceName: "Tap Installation", price: 300 },
      { serviceId: "shower-installation", serviceName: "Shower Installation", price: 550 },
    ]);
  });

  it("rejects past slots, malformed times and sub-services the provider does not offer", async () => {
    const { providerServiceId } = await seedListing({ prices: { "tap-installation": 30000 } });
    const customer = await seedUser("user");
    expect((await book(customer.token, providerServiceId, istSlot(-1))).status).toBe(400);
    expect(
      (await book(customer.token, providerServiceId, { appointmentDate: istSlot(2).appointmentDate, appointmentTime: "25:00" })).status,
    ).toBe(400);
    expect((await book(customer.token, providerServiceId, { appointmentDate: "2026-02-30", appointmentTime: "10:00 AM" })).status).toBe(
      400,
    );
    const notOffered = await book(customer.token, providerServiceId, istSlot(2), ["shower-installation"]);
    expect(notOffered.status).toBe(400);
    expect((await book(customer.token, providerServiceId, istSlot(2), [])).status).toBe(400);
    expect(await bookingsOf(customer.id)).toHaveLength(0);
  });

  it("reads the date and time in India time and stores the instant", async () => {
    const { providerServiceId } = await seedListing();
    const customer = await seedUser("user");
    const slot = istSlot(3, 9, 0);
    const r = await book(customer.token, providerServiceId, slot);
    expect(r.status).toBe(201);
    // 09:00 IST is 03:30 UTC.
    expect(r.body.data.booking.appointment_at).toBe(`${slot.appointmentDate}T03:30:00.000Z`);
    expect(r.body.data.booking.appointment_time).toBe("9:00 AM");
  });

  it("only active listings are bookable", async () => {
    const pending = await seedListing({ status: "pending" });
    const customer = await seedUser("user");
    const r = await book(customer.token, pending.providerServiceId);
    expect(r.status).toBe(422);
    expect((await book(customer.token, crypto.randomUUID())).status).toBe(404);
  });

  it("labour bookings need active labour access", async () => {
    const labour = await seedListing({ service: "labors", prices: { "per-hour-charges": 15000 } });
    const customer = await seedUser("user");
    const denied = await book(customer.token, labour.providerServiceId, istSlot(2), ["per-hour-charges"]);
    expect(denied.status).toBe(403);
    expect(denied.body.errorCode).toBe("LABOUR_ACCESS_REQUIRED");
    await grantLabourAccess(customer.id);
    expect((await book(customer.token, labour.providerServiceId, istSlot(2), ["per-hour-charges"])).status).toBe(201);
  });

  it("a bookings list costs one database round trip including authentication", async () => {
    const { providerServiceId, provider } = await seedListing();
    const customer = await seedUser("user");
    for (const d of [2, 3, 4]) expect((await book(customer.token, providerServiceId, istSlot(d))).status).toBe(201);
    const mine = await api("GET", "/api/bookings", { token: customer.token });
    expect(mine.body.data.bookings).toHaveLength(3);
    expect(mine.body.data.pagination.total).toBe(3);
    expectRoundTrips(mine, 1);
    const theirs = await api("GET", "/api/providers/bookings", { token: provider.token });
    expect(theirs.body.data.bookings).toHaveLength(3);
    expectRoundTrips(theirs, 1);
    const page = await api("GET", "/api/bookings?limit=2&page=2", { token: customer.token });
    expect(page.body.data.bookings).toHaveLength(1);
    expect(page.body.data.pagination).toMatchObject({ total: 3, currentPage: 2, totalPages: 2 });
  });
});

describe("database round trips of every bookings call the apps make (session check included)", () => {
  it("reads cost one; writes two when their notification texts need the booking, else one", async () => {
    const listing = await seedListing();
    const { provider } = listing;
    const customer = await seedUser("user");
    const c = (method: string, path: string, body?: unknown) => api(method, path, { token: customer.token, body });
    const p = (method: string, path: string, body?: unknown) => api(method, path, { token: provider.token, body });

    const created = await book(customer.token, listing.providerServiceId, istSlot(3, 10));
    expectRoundTrips(created, 2, "create");
    const id = created.body.data.booking.id as string;
    expectRoundTrips(await book(customer.token, listing.providerServiceId, istSlot(3, 10)), 2, "create (retry)");

    expectRoundTrips(await c("GET", "/api/bookings"), 1, "customer list");
    expectRoundTrips(await c("GET", `/api/bookings/${id}`), 1, "customer detail");
    expectRoundTrips(await c("GET", "/api/bookings/unread-count"), 1, "customer unread count");
    expectRoundTrips(await c("PUT", "/api/bookings/mark-all-viewed"), 1, "customer mark all viewed");
    expectRoundTrips(await c("PUT", `/api/bookings/${id}/mark-viewed`), 1, "mark viewed");
    expectRoundTrips(await p("GET", "/api/providers/bookings"), 1, "provider list");
    expectRoundTrips(await p("GET", "/api/providers/bookings/unread-count"), 1, "provider unread count");
    expectRoundTrips(await p("PUT", "/api/providers/bookings/mark-all-viewed"), 1, "provider mark all viewed");

    expectRoundTrips(await p("PUT", `/api/providers/bookings/${id}/status`, { status: "accepted" }), 2, "accept");
    expectRoundTrips(await p("POST", `/api/providers/bookings/${id}/rate-customer`, { rating: 4 }), 2, "rate customer");
    expectRoundTrips(await p("PUT", `/api/providers/bookings/${id}/status`, { status: "completed" }), 2, "complete");
    expectRoundTrips(await c("POST", `/api/bookings/${id}/rate`, { rating: 5, review: "Tidy" }), 2, "rate provider");
    expectRoundTrips(await c("POST", `/api/bookings/${id}/report`, { reportReason: "Late", reportDescription: "Late" }), 1, "report");
    expectRoundTrips(
      await p("POST", "/api/providers/report-customer", {
        customerName: customer.fullName,
        incidentDate: "2026-01-10",
        incidentType: "Other",
        description: "Rude",
        evidence: [],
      }),
      1,
      "report customer",
    );

    const toReject = (await book(customer.token, listing.providerServiceId, istSlot(4, 10))).body.data.booking.id as string;
    expectRoundTrips(
      await p("PUT", `/api/providers/bookings/${toReject}/status`, { status: "rejected", rejectionReason: "Away" }),
      2,
      "reject",
    );
    const toCancel = (await book(customer.token, listing.providerServiceId, istSlot(5, 10))).body.data.booking.id as string;
    const cancelled = await c("PUT", `/api/bookings/${toCancel}/cancel`, { cancellationReason: "Plans changed" });
    expectRoundTrips(cancelled, 2, "cancel");
    expect(cancelled.body.data.booking).toMatchObject({ id: toCancel, status: "cancelled", cancellation_reason: "Plans changed" });
  });

  it("a refused change costs no more than an accepted one", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = (await book(customer.token, listing.providerServiceId, istSlot(3, 12))).body.data.booking.id as string;
    const complete = await api("PUT", `/api/providers/bookings/${id}/status`, {
      token: listing.provider.token,
      body: { status: "completed" },
    });
    expect(complete.status).toBe(409);
    expect(Number(complete.headers.get("x-db-round-trips"))).toBeLessThanOrEqual(2);
    const rate = await api("POST", `/api/bookings/${id}/rate`, { token: customer.token, body: { rating: 5 } });
    expect(rate.status).toBe(409);
    expect(Number(rate.headers.get("x-db-round-trips"))).toBeLessThanOrEqual(2);
    const other = await seedUser("user");
    const report = await api("POST", `/api/bookings/${id}/report`, {
      token: other.token,
      body: { reportReason: "x", reportDescription: "x" },
    });
    expect(report.status).toBe(404);
    expect(Number(report.headers.get("x-db-round-trips"))).toBeLessThanOrEqual(2);
  });

  it("a revoked session's one-round-trip write is 401 and leaves neither the report nor its notification", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = (await book(customer.token, listing.providerServiceId, istSlot(3, 14))).body.data.booking.id as string;
    await testDb().http.execute(sql`update sessions set revoked_at = now(), revoke_reason = 'test' where id = ${customer.sessionId}`);
    const r = await api("POST", `/api/bookings/${id}/report`, {
      token: customer.token,
      body: { reportReason: "Late", reportDescription: "Late" },
    });
    expect(r.status).toBe(401);
    expect(Number(r.headers.get("x-db-round-trips"))).toBe(1);
    expect(await rows(sql`select id from user_reports_providers where booking_id = ${id}`)).toEqual([]);
    expect(await rows(sql`select id from notifications where user_id = ${customer.id} and type = 'report'`)).toEqual([]);
  });
});
