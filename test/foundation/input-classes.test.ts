import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { toAppError } from "../../src/http/on-error";
import { api, grantLabourAccess, istSlot, seedListing, seedUser, testDb } from "../harness";

/**
 * Input classes the database cannot store answered 500 (issue 11 #9): U+0000 in free text (Postgres
 * text and jsonb refuse it), a price that rounds to 0 paise (CHECK), a booking total past int4. Each is
 * a 400 VALIDATION_ERROR in the apps' envelope that names the field, and nothing is written.
 */

const rows = async (q: ReturnType<typeof sql>) => (await testDb().http.execute(q)).rows as Record<string, unknown>[];

function expectFieldError(res: { status: number; body: Record<string, unknown> }, field: string) {
  const what = JSON.stringify(res.body).slice(0, 300);
  expect(res.status, what).toBe(400);
  expect(res.body, what).toMatchObject({ status: "error", errorCode: "VALIDATION_ERROR" });
  expect(
    (res.body.errors as { field: string }[]).map((e) => e.field),
    what,
  ).toContain(field);
}

describe("U+0000 in any text field is a 400 naming the field, never a 500", () => {
  it("on every route that stores free text, and nothing is written", async () => {
    const customer = await seedUser("user");
    const admin = await seedUser("admin");
    const listing = await seedListing();
    const provider = listing.provider;
    await grantLabourAccess(customer.id);
    const booked = await api("POST", "/api/bookings", {
      token: customer.token,
      body: { providerServiceId: listing.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(6, 10) },
    });
    expect(booked.status).toBe(201);
    const bookingId = booked.body.data.booking.id as string;
    const NUL = "Gate\u0000 code 42";

    const cases: [string, Promise<{ status: number; body: Record<string, unknown> }>, string][] = [
      [
        "booking address",
        api("POST", "/api/bookings", {
          token: customer.token,
          body: {
            providerServiceId: listing.providerServiceId,
            selectedServices: ["shower-installation"],
            address: NUL,
            ...istSlot(6, 12),
          },
        }),
        "address",
      ],
      [
        "cancellation reason",
        api("PUT", `/api/bookings/${bookingId}/cancel`, { token: customer.token, body: { cancellationReason: NUL } }),
        "cancellationReason",
      ],
      [
        "rejection reason",
        api("PUT", `/api/providers/bookings/${bookingId}/status`, {
          token: provider.token,
          body: { status: "rejected", rejectionReason: NUL },
        }),
        "rejectionReason",
      ],
      ["review", api("POST", `/api/bookings/${bookingId}/rate`, { token: customer.token, body: { rating: 4, review: NUL } }), "review"],
      [
        "report of a provider",
        api("POST", `/api/bookings/${bookingId}/report`, {
          token: customer.token,
          body: { reportReason: "No show", reportDescription: NUL },
        }),
        "reportDescription",
      ],
      [
        "report of a customer",
        api("POST", "/api/providers/report-customer", {
          token: provider.token,
          body: { customerName: "Asha", incidentDate: "2026-01-10", incidentType: "Other", description: NUL, evidence: [] },
        }),
        "description",
      ],
      [
        "address book",
        api("POST", "/api/users/addresses", { token: customer.token, body: { type: "home", fullAddress: NUL, state: "Kerala" } }),
        "fullAddress",
      ],
      [
        "service registration",
        api("POST", "/api/services/painting/providers", {
          token: provider.token,
          body: { yearsOfExperience: 3, state: "Kerala", fullAddress: NUL, subServices: [{ serviceId: "room-painting", price: 500 }] },
        }),
        "fullAddress",
      ],
      [
        "report moderation note",
        api("PUT", `/api/admin/reports/${crypto.randomUUID()}/status`, {
          token: admin.token,
          body: { status: "resolved", adminNote: NUL },
        }),
        "adminNote",
      ],
      [
        "push device name",
        api("POST", "/api/push-notifications/register-token", {
          token: customer.token,
          body: { pushToken: `ExponentPushToken[${crypto.randomUUID()}]`, deviceInfo: { deviceName: NUL } },
        }),
        "deviceInfo.deviceName",
      ],
      [
        "call log",
        api("POST", "/api/calls/log", { token: customer.token, body: { bookingId, duration: 5, status: "completed", endReason: NUL } }),
        "endReason",
      ],
      [
        "payment event data (jsonb)",
        api("POST", "/api/payments/event", {
          token: customer.token,
          body: { orderId: "ORDER_1", eventType: "payment_page_opened", eventData: { note: NUL } },
        }),
        "eventData.note",
      ],
    ];
    for (const [what, res, field] of cases) {
      const r = await res;
      expect(r.status, what).not.toBe(500);
      expectFieldError(r, field);
    }

    const [counts] = await rows(sql`select
        (select count(*)::int from bookings where customer_id = ${customer.id}) as bookings,
        (select count(*)::int from bookings where id = ${bookingId} and status = 'pending') as still_pending,
        (select count(*)::int from addresses where user_id = ${customer.id}) as addresses,
        (select count(*)::int from user_reports_providers where reporter_id = ${customer.id}) as reports_by_customer,
        (select count(*)::int from provider_reports_users where provider_id = ${provider.id}) as reports_by_provider,
        (select count(*)::int from push_tokens where user_id = ${customer.id}) as push_tokens`);
    expect(counts).toEqual({ bookings: 1, still_pending: 1, addresses: 0, reports_by_customer: 0, reports_by_provider: 0, push_tokens: 0 });
  });

  it("other control characters in free text are refused; line breaks and tabs are kept", async () => {
    const customer = await seedUser("user");
    const bell = await api("POST", "/api/users/addresses", {
      token: customer.token,
      body: { type: "home", fullAddress: "12 Temple Road\u0007 Mysuru", state: "Karnataka" },
    });
    expectFieldError(bell, "fullAddress");
    const multiline = await api("POST", "/api/users/addresses", {
      token: customer.token,
      body: { type: "home", fullAddress: "12 Temple Road,\n\tMysuru", state: "Karnataka" },
    });
    expect(multiline.status).toBe(201);
  });
});

describe("money that the ledger's integer columns cannot hold is a 400 naming the field", () => {
  it("a sub-service price that rounds to 0 paise", async () => {
    const provider = await seedUser("provider");
    for (const price of [0.001, "0.004"]) {
      const r = await api("POST", "/api/services/painting/providers", {
        token: provider.token,
        body: { yearsOfExperience: 3, state: "Kerala", fullAddress: "4 Beach Road", subServices: [{ serviceId: "room-painting", price }] },
      });
      expectFieldError(r, "subServices.0.price");
    }
    expect(
      await rows(
        sql`select ps.id from provider_services ps join provider_profiles pp on pp.id = ps.provider_id where pp.user_id = ${provider.id}`,
      ),
    ).toEqual([]);
  });

  it("a booking whose total overflows the integer column", async () => {
    // Three sub-services at the highest price a provider may set (₹1 crore each): ₹3 crore is past int4 paise.
    const crore = 1_000_000_000;
    const listing = await seedListing({
      prices: { "tap-installation": crore, "shower-installation": crore, "bathroom-fixing-cleaning": crore },
    });
    const customer = await seedUser("user");
    const r = await api("POST", "/api/bookings", {
      token: customer.token,
      body: {
        providerServiceId: listing.providerServiceId,
        selectedServices: ["tap-installation", "shower-installation", "bathroom-fixing-cleaning"],
        ...istSlot(6, 14),
      },
    });
    expectFieldError(r, "selectedServices");
    expect(await rows(sql`select id from bookings where customer_id = ${customer.id}`)).toEqual([]);
  });
});

describe("the error mapper's safety net for database input errors", () => {
  const pgError = (code: string, constraint?: string) => Object.assign(new Error("db said no"), { code, constraint });

  it("maps invalid-character, out-of-range and CHECK failures to 400 VALIDATION_ERROR", () => {
    for (const code of ["22021", "22P05", "22003", "23514"]) {
      const e = toAppError(pgError(code, "bookings_total_price_positive"));
      expect([code, e.status, e.code]).toEqual([code, 400, "VALIDATION_ERROR"]);
    }
  });

  it("maps a state guard's 23514 (a transition raced) to 409, not to a validation error", () => {
    expect(toAppError(pgError("23514", "bookings_transition"))).toMatchObject({ status: 409, code: "INVALID_STATE_TRANSITION" });
  });
});
