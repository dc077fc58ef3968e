import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { removeAccount } from "../../src/admin/service";
import { api, istSlot, randomIp, type SeededListing, seedListing, seedUser, signupViaApi, TEST_PASSWORD, testDb } from "../harness";

/** Admin screens (stats, reports, moderation, removals), monitoring and provider earnings. */

describe("admin", () => {
  it("every admin and monitoring route refuses customers and providers", async () => {
    const customer = await seedUser("user");
    const provider = await seedUser("provider");
    const id = crypto.randomUUID();
    for (const token of [customer.token, provider.token]) {
      for (const [method, path] of [
        ["GET", "/api/admin/stats"],
        ["GET", "/api/admin/reports"],
        ["PUT", `/api/admin/reports/${id}/status`],
        ["DELETE", `/api/admin/users/${id}`],
        ["DELETE", `/api/admin/providers/${id}`],
        ["GET", "/api/admin/all-users"],
        ["GET", "/api/admin/all-providers"],
        ["GET", "/api/monitoring/status"],
        ["GET", "/api/monitoring/alerts?limit=10"],
      ] as const) {
        const r = await api(method, path, { token, body: method === "PUT" ? { status: "closed" } : undefined });
        expect(r.status, `${method} ${path}`).toBe(403);
      }
    }
  });

  it("reports from both directions reach the inbox with the apps' fields, and moderation changes their status", async () => {
    const admin = await seedUser("admin");
    const listing = await seedListing();
    const customer = await seedUser("user");
    const b = await api("POST", "/api/bookings", {
      token: customer.token,
      body: { providerServiceId: listing.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(2) },
    });
    const bookingId = b.body.data.booking.id;
    const ur = await api("POST", `/api/bookings/${bookingId}/report`, {
      token: customer.token,
      body: { reportReason: "Did not show up", reportDescription: "Did not show up" },
    });
    expect(ur.status).toBe(201);
    const pr = await api("POST", "/api/providers/report-customer", {
      token: listing.provider.token,
      body: {
        customerName: customer.fullName,
        incidentDate: "2026-01-10",
        incidentTime: null,
        incidentType: "Payment Issues",
        description: "Refused to pay",
        evidence: ["https://images.pexels.com/photos/1.jpeg"],
      },
    });
    expect(pr.status).toBe(201);

    const inbox = await api("GET", "/api/admin/reports", { token: admin.token });
    expect(inbox.status).toBe(200);
    const userReport = inbox.body.data.reports.find((r: { id: string }) => r.id === ur.body.data.reportId);
    expect(userReport).toMatchObject({
      report_type: "Did not show up",
      status: "open",
      reporter_name: customer.fullName,
      reported_provider_name: listing.provider.fullName,
      reporter_type: "User",
      reported_type: "Provider",
      reported_provider_id: listing.provider.id,
    });
    const providerReport = inbox.body.data.reports.find((r: { id: string }) => r.id === pr.body.data.report.id);
    expect(providerReport).toMatchObject({
      report_type: "Payment Issues",
      description: "Refused to pay",
      reporter_type: "Provider",
      reported_type: "User",
      customer_name: customer.fullName,
      // Matched exactly among this provider's customers.
      customer_user_id: customer.id,
    });
    for (const r of inbox.body.data.reports) {
      for (const f of ["report_type", "description", "reporter_name", "reported_provider_name"]) expect(typeof r[f]).toBe("string");
    }

    const stats = await api("GET", "/api/admin/stats", { token: admin.token });
    expect(stats.body.data).toMatchObject({
      totalUsers: expect.any(Number),
      totalBookings: expect.any(Number),
      totalRevenue: expect.any(Number),
    });
    expect(stats.body.data.reportsStats.open).toBeGreaterThanOrEqual(2);
    expect(stats.body.data.pendingReports).toBe(stats.body.data.reportsStats.open);

    const set = (id: string, body: unknown) => api("PUT", `/api/admin/reports/${id}/status`, { token: admin.token, body });
    expect((await set(providerReport.id, { status: "resolved" })).status).toBe(200);
    expect((await set(userReport.id, { status: "closed" })).status).toBe(200);
    expect((await set(userReport.id, {})).status).toBe(400);
    expect((await set(crypto.randomUUID(), { status: "closed" })).status).toBe(404);
    const after = await api("GET", "/api/admin/reports?status=resolved", { token: admin.token });
    expect(after.body.data.reports.map((r: { id: string }) => r.id)).toContain(providerReport.id);
    expect(after.body.data.reports.map((r: { id: string }) => r.id)).not.toContain(userReport.id);
  });

  it('report-customer takes the form\'s free-text time as providers type it ("HH:MM AM/PM") and stores it as a time', async () => {
    const provider = await seedUser("provider");
    const report = (incidentTime: string | null) =>
      api("POST", "/api/providers/report-customer", {
        token: provider.token,
        body: { customerName: "Somebody", incidentDate: "2026-01-10", incidentTime, incidentType: "Other", description: "x", evidence: [] },
      });
    const stored = async (id: string) =>
      (await testDb().http.execute(sql`select incident_time::text as t from provider_reports_users where id = ${id}`)).rows[0]!.t;
    for (const [typed, want] of [
      ["10:30 AM", "10:30:00"],
      ["2:05 pm", "14:05:00"],
      ["12:15 AM", "00:15:00"],
      ["18:45", "18:45:00"],
    ] as const) {
      const r = await report(typed);
      expect(r.status, typed).toBe(201);
      expect(await stored(r.body.data.report.id)).toBe(want);
    }
    for (const bad of ["13:00 PM", "25:00", "soon"]) {
      const r = await report(bad);
      expect(r.status, bad).toBe(400);
      expect(r.body.errorCode).toBe("VALIDATION_ERROR");
    }
  });

  it("removing a provider revokes their sessions, blocks their identifiers, withdraws listings and cancels live bookings", async () => {
    const admin = await seedUser("admin");
    const listing = await seedListing({ service: "granite-tiles", prices: { "floor-fitting": 40000 } });
    const customer = await seedUser("user");
    const b = await api("POST", "/api/bookings", {
      token: customer.token,
      body: { providerServiceId: listing.providerServiceId, selectedServices: ["floor-fitting"], ...istSlot(2) },
    });
    expect(b.status).toBe(201);
    const providers = await api("GET", "/api/admin/all-providers", { token: admin.token });
    expect(providers.body.data.providers.find((p: { id: string }) => p.id === listing.provider.id)).toMatchObject({
      full_name: listing.provider.fullName,
      phone: listing.provider.phone,
      registered_services_count: 1,
      email: expect.any(String),
    });

    expect((await api("DELETE", `/api/admin/users/${listing.provider.id}`, { token: admin.token })).status).toBe(404); // wrong role
    const del = await api("DELETE", `/api/admin/providers/${listing.provider.id}`, { token: admin.token });
    expect(del.status).toBe(200);
    expect((await api("GET", "/api/providers/bookings", { token: listing.provider.token })).status).toBe(401);
    const db = testDb();
    const blocked = (
      await db.http.execute(
        sql`select identifier_type::text as t, role::text as role from blocked_identifiers where value = ${listing.provider.phone}`,
      )
    ).rows;
    expect(blocked).toEqual([{ t: "phone", role: "provider" }]);
    const list = await api("GET", `/api/public/services/${listing.serviceId}/providers?limit=50`);
    expect(list.body.data.providers.map((p: { provider_service_id: string }) => p.provider_service_id)).not.toContain(
      listing.providerServiceId,
    );
    const mine = await api("GET", "/api/bookings", { token: customer.token });
    expect(mine.body.data.bookings[0]).toMatchObject({ status: "cancelled" });
    // History stays: the row is soft-deleted, not erased.
    const [u] = (await db.http.execute(sql`select deleted_at is not null as gone from users where id = ${listing.provider.id}`)).rows;
    expect(u).toEqual({ gone: true });
    const users = await api("GET", "/api/admin/all-users", { token: admin.token });
    expect(users.body.data.users.find((x: { id: string }) => x.id === customer.id)).toMatchObject({
      role: "user",
      full_name: customer.fullName,
    });
  });

  it("removing a customer cancels their live bookings and tells each provider once; removing again changes nothing", async () => {
    const admin = await seedUser("admin");
    const customer = await seedUser("user");
    const book = async (day: number) => {
      const listing = await seedListing();
      const r = await api("POST", "/api/bookings", {
        token: customer.token,
        body: { providerServiceId: listing.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(day) },
      });
      expect(r.status).toBe(201);
      return { bookingId: r.body.data.booking.id as string, provider: listing.provider };
    };
    const pending = await book(2);
    const second = await book(3);
    const done = await book(4);
    expect((await api("PUT", `/api/bookings/${done.bookingId}/cancel`, { token: customer.token, body: {} })).status).toBe(200);
    const db = testDb();
    // Only what the removal writes is looked at below.
    await db.http.execute(
      sql`delete from outbox where payload->>'userId' in (${pending.provider.id}::text, ${second.provider.id}::text, ${done.provider.id}::text)`,
    );
    await db.http.execute(
      sql`delete from notifications where user_id in (${pending.provider.id}, ${second.provider.id}, ${done.provider.id})`,
    );

    for (let i = 0; i < 2; i++) {
      const r = await api("DELETE", `/api/admin/users/${customer.id}`, { token: admin.token });
      expect(r.status).toBe(200);
    }
    const statuses = (
      await db.http.execute(
        sql`select id, status::text as status, cancellation_reason from bookings where id in (${pending.bookingId}, ${second.bookingId}, ${done.bookingId})`,
      )
    ).rows;
    expect(statuses).toEqual(
      expect.arrayContaining([
        { id: pending.bookingId, status: "cancelled", cancellation_reason: "Account removed by admin" },
        { id: second.bookingId, status: "cancelled", cancellation_reason: "Account removed by admin" },
        { id: done.bookingId, status: "cancelled", cancellation_reason: expect.not.stringContaining("removed") },
      ]),
    );
    for (const b of [pending, second]) {
      const told = (
        await db.http.execute<{ title: string; data: Record<string, unknown> }>(
          sql`select title, data from notifications where user_id = ${b.provider.id}`,
        )
      ).rows;
      expect(told).toEqual([
        { title: "Booking Cancelled", data: { bookingId: b.bookingId, type: "booking_cancelled", screen: "bookings" } },
      ]);
      const events = (
        await db.http.execute<{ topic: string; event: string | null }>(
          sql`select topic, payload->>'event' as event from outbox where payload->>'userId' = ${b.provider.id}::text order by topic, event`,
        )
      ).rows;
      expect(events).toEqual([
        { topic: "push.send", event: null },
        { topic: "realtime.emit", event: "booking_unread_count_update" },
        { topic: "realtime.emit", event: "booking_updated" },
        { topic: "realtime.emit", event: "notification_created" },
      ]);
    }
    expect((await db.http.execute(sql`select 1 from notifications where user_id = ${done.provider.id}`)).rows).toEqual([]);
    expect((await api("GET", "/api/auth/me", { token: customer.token })).status).toBe(401);
  });

  it("a removal racing the customer's new bookings: every booking it cancels has its provider told", async () => {
    const admin = await seedUser("admin");
    const customer = await seedUser("user");
    const listings = await Promise.all([1, 2, 3, 4].map(() => seedListing()));
    const first = await api("POST", "/api/bookings", {
      token: customer.token,
      body: { providerServiceId: listings[0]!.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(2) },
    });
    expect(first.status).toBe(201);
    const [removal] = await Promise.all([
      api("DELETE", `/api/admin/users/${customer.id}`, { token: admin.token }),
      ...listings.slice(1).map((l, i) =>
        api("POST", "/api/bookings", {
          token: customer.token,
          body: { providerServiceId: l.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(3 + i) },
        }),
      ),
    ]);
    expect(removal.status).toBe(200);
    const { rows } = await testDb().http.execute<{ id: string; told: boolean }>(
      sql`select b.id, exists (select 1 from notifications n where n.dedup_key = 'booking:' || b.id || ':cancelled:removal') as told
            from bookings b where b.customer_id = ${customer.id} and b.cancellation_reason = 'Account removed by admin'`,
    );
    expect(rows.map((r) => r.id)).toContain(first.body.data.booking.id);
    expect(rows.filter((r) => !r.told)).toEqual([]);
  });

  it("a booking made between the removal's read and its batch: the batch writes nothing, the removal reads again, and that booking's provider is told too", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const early = await seedListing();
    const late = await seedListing();
    const book = (l: SeededListing, day: number) =>
      api("POST", "/api/bookings", {
        token: customer.token,
        body: { providerServiceId: l.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(day) },
      });
    expect((await book(early, 2)).status).toBe(201);
    const db = testDb();
    let batches = 0;
    let lateBooking = "";
    // The customer books again right before the removal's first batch reaches the database.
    const http = new Proxy(db.http, {
      get(target, prop, receiver) {
        if (prop !== "batch") return Reflect.get(target, prop, receiver);
        return async (statements: Parameters<typeof target.batch>[0]) => {
          if (batches++ === 0) lateBooking = (await book(late, 3)).body.data.booking.id;
          return target.batch(statements);
        };
      },
    });
    expect(await removeAccount({ ...db, http }, admin.id, customer.id, "user")).toEqual({ alreadyRemoved: false });
    expect(batches).toBe(2);
    const { rows } = await testDb().http.execute<{ id: string; status: string; told: boolean }>(
      sql`select b.id, b.status::text as status,
                 exists (select 1 from notifications n where n.dedup_key = 'booking:' || b.id || ':cancelled:removal') as told
            from bookings b where b.customer_id = ${customer.id}`,
    );
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.id === lateBooking)).toEqual({ id: lateBooking, status: "cancelled", told: true });
    expect(rows.every((r) => r.status === "cancelled" && r.told)).toBe(true);
  });

  it("removing one role's account of a phone blocks that role only: the same phone's other account keeps working", async () => {
    const admin = await seedUser("admin");
    const customer = await signupViaApi("user");
    const provider = await signupViaApi("provider", { phone: customer.phone });
    const headers = { "cf-connecting-ip": randomIp() };

    const del = await api("DELETE", `/api/admin/providers/${provider.id}`, { token: admin.token });
    expect(del.status).toBe(200);

    // The removed provider: every session ends at once, and the phone and e-mail cannot log in or sign up again as a provider.
    expect((await api("GET", "/api/auth/me", { token: provider.accessToken })).status).toBe(401);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: provider.refreshToken } })).status).toBe(401);
    const providerLogin = await api("POST", "/api/auth/login", {
      headers,
      body: { phone: customer.phone, password: TEST_PASSWORD, role: "provider" },
    });
    expect(providerLogin.status).toBe(403);
    expect(providerLogin.body.errorCode).toBe("ACCOUNT_BLOCKED");
    const again = await api("POST", "/api/auth/signup", {
      headers,
      body: {
        fullName: "Back Again",
        email: `again.${customer.phone}@example.com`,
        phone: customer.phone,
        password: TEST_PASSWORD,
        role: "provider",
      },
    });
    expect(again.status).toBe(403);

    // The customer on the same phone: the live session, a refresh, a new login and a password reset all still work.
    expect((await api("GET", "/api/auth/me", { token: customer.accessToken })).status).toBe(200);
    expect((await api("POST", "/api/auth/refresh", { body: { refreshToken: customer.refreshToken } })).status).toBe(200);
    const login = await api("POST", "/api/auth/login", { headers, body: { phone: customer.phone, password: TEST_PASSWORD, role: "user" } });
    expect(login.status).toBe(200);
    expect(login.body.data.user.id).toBe(customer.id);
    expect((await api("POST", "/api/auth/forgot-password", { headers, body: { phone: customer.phone, role: "user" } })).status).toBe(200);

    const { rows } = await testDb().http.execute<{ t: string; role: string }>(
      sql`select identifier_type::text as t, role::text as role from blocked_identifiers
           where value in (${customer.phone}, ${`provider.${customer.phone}@example.com`}) order by 1`,
    );
    expect(rows).toEqual([
      { t: "email", role: "provider" },
      { t: "phone", role: "provider" },
    ]);
  });

  it("monitoring reports status and alerts in the app's shape", async () => {
    const admin = await seedUser("admin");
    const s = await api("GET", "/api/monitoring/status", { token: admin.token });
    expect(s.status).toBe(200);
    expect(s.body.data).toMatchObject({
      status: expect.any(String),
      score: expect.any(Number),
      uptime: expect.any(Number),
      requests: { total: expect.any(Number), errors: expect.any(Number), errorRate: expect.any(String) },
      performance: { averageResponseTime: expect.any(String), p95ResponseTime: expect.any(String) },
      system: { memoryUsage: expect.any(String), databasePoolUsage: expect.any(String) },
    });
    const a = await api("GET", "/api/monitoring/alerts?limit=10", { token: admin.token });
    expect(a.status).toBe(200);
    expect(Array.isArray(a.body.data.alerts)).toBe(true);
  });
});

describe("earnings", () => {
  it("today, this month and pending in the app's ₹N,NNN strings with Indian grouping", async () => {
    const listing = await seedListing({
      service: "contact-building",
      prices: { "general-contractor": 123456700, "prime-contractor": 50000 },
    });
    const customer = await seedUser("user");
    const mk = async (sub: string, day: number) => {
      const r = await api("POST", "/api/bookings", {
        token: customer.token,
        body: { providerServiceId: listing.providerServiceId, selectedServices: [sub], ...istSlot(day) },
      });
      expect(r.status).toBe(201);
      return r.body.data.booking.id as string;
    };
    const big = await mk("general-contractor", 2);
    await mk("prime-contractor", 3);
    for (const status of ["accepted", "completed"])
      expect((await api("PUT", `/api/providers/bookings/${big}/status`, { token: listing.provider.token, body: { status } })).status).toBe(
        200,
      );
    const e = await api("GET", "/api/earnings", { token: listing.provider.token });
    expect(e.status).toBe(200);
    expect(e.body.data.earnings).toEqual({ today: "₹12,34,567", thisMonth: "₹12,34,567", pending: "₹500" });
    const fresh = await seedUser("provider");
    expect((await api("GET", "/api/earnings", { token: fresh.token })).body.data.earnings).toEqual({
      today: "₹0",
      thisMonth: "₹0",
      pending: "₹0",
    });
  });
});
