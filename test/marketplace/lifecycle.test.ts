import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { BookingStatus } from "../../src/db/schema";
import { api, istSlot, type SeededListing, type SeededUser, seedListing, seedUser, testDb } from "../harness";

/**
 * The booking state machine from every state, for every actor; and the walls between users.
 * pending → accepted | rejected | cancelled; accepted → completed | cancelled; everything else 409.
 */

type State = BookingStatus;
type Action = "accept" | "reject" | "complete" | "cancel";

const ALLOWED: Record<State, Action[]> = {
  pending: ["accept", "reject", "cancel"],
  accepted: ["complete", "cancel"],
  rejected: [],
  cancelled: [],
  completed: [],
};

let dayOffset = 10;

async function bookingIn(state: State, listing: SeededListing, customer: SeededUser): Promise<string> {
  const r = await api("POST", "/api/bookings", {
    token: customer.token,
    body: { providerServiceId: listing.providerServiceId, selectedServices: ["tap-installation"], ...istSlot(dayOffset++, 10) },
  });
  expect(r.status).toBe(201);
  const id = r.body.data.booking.id as string;
  const p = (status: string) => api("PUT", `/api/providers/bookings/${id}/status`, { token: listing.provider.token, body: { status } });
  if (state === "accepted" || state === "completed") expect((await p("accepted")).status).toBe(200);
  if (state === "completed") expect((await p("completed")).status).toBe(200);
  if (state === "rejected") expect((await p("rejected")).status).toBe(200);
  if (state === "cancelled") expect((await api("PUT", `/api/bookings/${id}/cancel`, { token: customer.token, body: {} })).status).toBe(200);
  return id;
}

function act(action: Action, id: string, listing: SeededListing, customer: SeededUser) {
  if (action === "cancel")
    return api("PUT", `/api/bookings/${id}/cancel`, { token: customer.token, body: { cancellationReason: "changed plans" } });
  const status = { accept: "accepted", reject: "rejected", complete: "completed" }[action];
  return api("PUT", `/api/providers/bookings/${id}/status`, { token: listing.provider.token, body: { status } });
}

async function snapshot(id: string) {
  const db = testDb();
  const [b] = (
    await db.http.execute(
      sql`select status, updated_at::text, rejection_reason, cancellation_reason, viewed_by_customer, viewed_by_provider from bookings where id = ${id}`,
    )
  ).rows;
  const [n] = (await db.http.execute(sql`select count(*)::int as n from notifications where data->>'bookingId' = ${id}`)).rows;
  const [o] = (await db.http.execute(sql`select count(*)::int as n from outbox where payload->'payload'->>'bookingId' = ${id}`)).rows;
  return { booking: b, notifications: n, events: o };
}

describe("booking state machine", () => {
  const states: State[] = ["pending", "accepted", "rejected", "cancelled", "completed"];
  const actions: Action[] = ["accept", "reject", "complete", "cancel"];
  for (const state of states) {
    it(`from ${state}: allowed ${ALLOWED[state].join(", ") || "nothing"}; every other action is 409 and changes nothing`, async () => {
      const listing = await seedListing();
      const customer = await seedUser("user");
      for (const action of actions) {
        const id = await bookingIn(state, listing, customer);
        const before = await snapshot(id);
        const r = await act(action, id, listing, customer);
        if (ALLOWED[state].includes(action)) {
          expect(r.status, `${state} → ${action}`).toBe(200);
        } else {
          expect(r.status, `${state} → ${action}`).toBe(409);
          expect(r.body.errorCode).toBe("INVALID_STATE_TRANSITION");
          expect(await snapshot(id)).toEqual(before);
        }
      }
    });
  }

  it("a retried accept (the apps retry PUTs) does not re-notify: the second one is 409", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = await bookingIn("pending", listing, customer);
    expect((await act("accept", id, listing, customer)).status).toBe(200);
    const before = await snapshot(id);
    expect((await act("accept", id, listing, customer)).status).toBe(409);
    expect(await snapshot(id)).toEqual(before);
  });

  it("ratings: only completed bookings, once; an identical retry is accepted, a different one is 409", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const pending = await bookingIn("pending", listing, customer);
    expect((await api("POST", `/api/bookings/${pending}/rate`, { token: customer.token, body: { rating: 5 } })).status).toBe(409);
    const done = await bookingIn("completed", listing, customer);
    const rate = (rating: number) => api("POST", `/api/bookings/${done}/rate`, { token: customer.token, body: { rating, review: null } });
    expect((await rate(4)).status).toBe(201);
    expect((await rate(4)).status).toBe(200);
    const again = await rate(2);
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/already rated/);
    const [r] = (await testDb().http.execute(sql`select count(*)::int as n, max(rating) as rating from ratings where booking_id = ${done}`))
      .rows;
    expect(r).toMatchObject({ n: 1, rating: 4 });
    // The provider may rate the customer of an accepted booking (the app does it before completing), but not of a pending one.
    const acc = await bookingIn("accepted", listing, customer);
    expect(
      (await api("POST", `/api/providers/bookings/${acc}/rate-customer`, { token: listing.provider.token, body: { rating: 5 } })).status,
    ).toBe(201);
    const pend = await bookingIn("pending", listing, customer);
    expect(
      (await api("POST", `/api/providers/bookings/${pend}/rate-customer`, { token: listing.provider.token, body: { rating: 5 } })).status,
    ).toBe(409);
  });

  it("reports: once per booking, shown on the customer's list", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = await bookingIn("completed", listing, customer);
    const report = () =>
      api("POST", `/api/bookings/${id}/report`, {
        token: customer.token,
        body: { reportReason: "Unprofessional behaviour", reportDescription: "Unprofessional behaviour" },
      });
    expect((await report()).status).toBe(201);
    const twice = await report();
    expect(twice.status).toBe(409);
    expect(twice.body.message).toMatch(/already been reported/);
    const list = await api("GET", "/api/bookings", { token: customer.token });
    expect(list.body.data.bookings.find((b: { id: string }) => b.id === id)).toMatchObject({ report_reason: "Unprofessional behaviour" });
  });
});

describe("walls between users", () => {
  it("a customer cannot read, cancel, rate, report or mark another customer's booking (404, nothing changes)", async () => {
    const listing = await seedListing();
    const owner = await seedUser("user");
    const other = await seedUser("user");
    const id = await bookingIn("completed", listing, owner);
    const pendingId = await bookingIn("pending", listing, owner);
    const before = [await snapshot(id), await snapshot(pendingId)];
    const tries = [
      api("GET", `/api/bookings/${id}`, { token: other.token }),
      api("PUT", `/api/bookings/${pendingId}/cancel`, { token: other.token, body: {} }),
      api("POST", `/api/bookings/${id}/rate`, { token: other.token, body: { rating: 1 } }),
      api("POST", `/api/bookings/${id}/report`, { token: other.token, body: { reportReason: "x", reportDescription: "x" } }),
      api("PUT", `/api/bookings/${id}/mark-viewed`, { token: other.token }),
    ];
    for (const r of await Promise.all(tries)) {
      expect(r.status).toBe(404);
      expect(r.text).not.toContain(owner.fullName);
    }
    expect([await snapshot(id), await snapshot(pendingId)]).toEqual(before);
    const list = await api("GET", "/api/bookings", { token: other.token });
    expect(list.body.data.bookings).toEqual([]);
  });

  it("a provider cannot act on another provider's booking (404, nothing changes)", async () => {
    const listing = await seedListing();
    const intruder = await seedListing();
    const customer = await seedUser("user");
    const id = await bookingIn("pending", listing, customer);
    const before = await snapshot(id);
    for (const status of ["accepted", "rejected", "completed"]) {
      const r = await api("PUT", `/api/providers/bookings/${id}/status`, { token: intruder.provider.token, body: { status } });
      expect(r.status).toBe(404);
    }
    const rc = await api("POST", `/api/providers/bookings/${id}/rate-customer`, { token: intruder.provider.token, body: { rating: 1 } });
    expect(rc.status).toBe(404);
    expect(await snapshot(id)).toEqual(before);
    const theirs = await api("GET", "/api/providers/bookings", { token: intruder.provider.token });
    expect(theirs.body.data.bookings).toEqual([]);
  });

  it("roles are enforced: customers on provider routes and providers on customer routes are 403", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = await bookingIn("pending", listing, customer);
    expect((await api("PUT", `/api/providers/bookings/${id}/status`, { token: customer.token, body: { status: "accepted" } })).status).toBe(
      403,
    );
    expect((await api("GET", "/api/providers/bookings", { token: customer.token })).status).toBe(403);
    expect((await api("PUT", `/api/bookings/${id}/cancel`, { token: listing.provider.token, body: {} })).status).toBe(403);
    expect((await api("GET", "/api/earnings", { token: customer.token })).status).toBe(403);
    expect((await api("GET", "/api/bookings")).status).toBe(401);
  });
});

describe("changes racing each other: one wins, the other is refused and announces nothing", () => {
  const notesOf = async (id: string) =>
    (await testDb().http.execute(sql`select dedup_key from notifications where data->>'bookingId' = ${id} and type <> 'report'`)).rows.map(
      (r) => String(r.dedup_key),
    );

  it("the provider rejects while the customer cancels", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    for (let i = 0; i < 3; i++) {
      const id = await bookingIn("pending", listing, customer);
      const [rejected, cancelled] = await Promise.all([act("reject", id, listing, customer), act("cancel", id, listing, customer)]);
      expect([rejected.status, cancelled.status].sort()).toEqual([200, 409]);
      const winner = rejected.status === 200 ? "rejected" : "cancelled";
      expect((await snapshot(id)).booking).toMatchObject({ status: winner });
      const changes = (await notesOf(id)).filter((k) => !k.includes(":created:"));
      expect(changes.length).toBeGreaterThan(0);
      expect(changes.every((k) => k.includes(`:${winner}:`))).toBe(true);
    }
  });

  it("the same rating sent twice at once: stored and announced once, both answered", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = await bookingIn("completed", listing, customer);
    const rate = () => api("POST", `/api/bookings/${id}/rate`, { token: customer.token, body: { rating: 4, review: "Good" } });
    const results = await Promise.all([rate(), rate()]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 201]);
    const [r] = (await testDb().http.execute(sql`select count(*)::int as n from ratings where booking_id = ${id}`)).rows;
    expect(r).toMatchObject({ n: 1 });
    expect((await notesOf(id)).filter((k) => k.startsWith("rating:"))).toEqual([`rating:${id}:customer_to_provider`]);
  });

  it("the same booking reported twice at once: one report, the other 409", async () => {
    const listing = await seedListing();
    const customer = await seedUser("user");
    const id = await bookingIn("completed", listing, customer);
    const report = () =>
      api("POST", `/api/bookings/${id}/report`, { token: customer.token, body: { reportReason: "Late", reportDescription: "Late" } });
    const results = await Promise.all([report(), report()]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const notes = await testDb().http.execute(sql`select id from notifications where user_id = ${customer.id} and type = 'report'`);
    expect(notes.rows).toHaveLength(1);
  });
});
