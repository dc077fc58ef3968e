import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, istSlot, seedListing, seedUser, testDb } from "../harness";

/**
 * The customer story end to end, through the apps' own calls (docs/api-contract.md §3.4–§3.8):
 * browse → open a provider → book → provider accepts → completes → customer rates, with each step
 * visible in both lists, both unread badges and both notification inboxes.
 */

async function notificationsOf(userId: string) {
  const { rows } = await testDb().http.execute(
    sql`select title, type, data from notifications where user_id = ${userId} order by created_at`,
  );
  return rows as { title: string; type: string; data: Record<string, unknown> }[];
}

async function outboxEventsFor(userId: string) {
  const { rows } = await testDb().http.execute(
    sql`select payload->>'event' as event from outbox where topic = 'realtime.emit' and payload->>'userId' = ${userId} order by id`,
  );
  return (rows as { event: string }[]).map((r) => r.event);
}

describe("customer story: browse → book → accept → complete → rate", () => {
  it("each step is visible to both sides, and the price is the provider's, frozen", async () => {
    const listing = await seedListing({ prices: { "tap-installation": 45000, "shower-installation": 80000 }, city: "Bengaluru" });
    const customer = await seedUser("user");
    const provider = listing.provider;

    // Browse: the category list uses the slugs the app maps, then the providers of that category.
    const services = await api("GET", "/api/public/services");
    expect(services.status).toBe(200);
    const plumber = services.body.data.services.find((s: { name: string }) => s.name === "plumber");
    expect(plumber.id).toBe(listing.serviceId);
    const list = await api(
      "GET",
      `/api/public/services/${listing.serviceId}/providers?limit=30&page=1&userCity=Bangalore&userState=Karnataka`,
    );
    expect(list.status).toBe(200);
    const card = list.body.data.providers.find((p: { provider_service_id: string }) => p.provider_service_id === listing.providerServiceId);
    expect(card).toMatchObject({
      full_name: provider.fullName,
      service_description: "Test listing",
      totalReviews: 0,
      averageRating: null,
      city: "Bengaluru",
      pricing: { minPrice: 450, maxPrice: 800, subServiceCount: 2, displayPrice: "Starting from ₹450" },
    });
    expect(list.text).not.toContain(provider.phone);
    expect(list.body.data.pagination).toMatchObject({ currentPage: 1 });
    expect(typeof list.body.data.pagination.total).toBe("number");

    // Open the provider: sub-services with numeric prices, the booking screen's input.
    const detail = await api("GET", `/api/public/provider-service/${listing.providerServiceId}`);
    expect(detail.status).toBe(200);
    expect(detail.headers.get("content-type")).toMatch(/application\/json/);
    expect(detail.body.data.provider.sub_services).toEqual([
      expect.objectContaining({ serviceId: "tap-installation", serviceName: "Tap Installation", price: 450 }),
      expect.objectContaining({ serviceId: "shower-installation", serviceName: "Shower Installation", price: 800 }),
    ]);
    expect(detail.text).not.toContain(provider.phone);

    // Book: the app sends slugs, a date and a 12-hour time; the server prices it.
    const slot = istSlot(2, 14, 30);
    const created = await api("POST", "/api/bookings", {
      token: customer.token,
      body: {
        providerServiceId: listing.providerServiceId,
        selectedService: "tap-installation,shower-installation",
        selectedServices: ["tap-installation", "shower-installation"],
        ...slot,
      },
    });
    expect(created.status).toBe(201);
    const bookingId = created.body.data.booking.id as string;
    expect(created.body.data.booking).toMatchObject({ status: "pending", total_price: 1250, appointment_time: "2:30 PM" });

    // The provider sees it: list, badge, notification.
    let pList = await api("GET", "/api/providers/bookings", { token: provider.token });
    expect(pList.status).toBe(200);
    expect(pList.body.data.bookings).toHaveLength(1);
    expect(pList.body.data.bookings[0]).toMatchObject({
      id: bookingId,
      customer_name: customer.fullName,
      status: "pending",
      estimated_price: 1250,
      selected_service: "tap-installation,shower-installation",
      service_name: "plumber",
      appointment_date: slot.appointmentDate,
    });
    expect(pList.text).not.toContain(customer.phone);
    expect((await api("GET", "/api/providers/bookings/unread-count", { token: provider.token })).body.data.unreadCount).toBe(1);
    expect((await notificationsOf(provider.id)).map((n) => n.title)).toContain("New Booking Request");
    expect(await outboxEventsFor(provider.id)).toEqual(expect.arrayContaining(["booking_created", "booking_unread_count_update"]));

    // The provider opens the tab: badge clears.
    expect((await api("PUT", "/api/providers/bookings/mark-all-viewed", { token: provider.token })).status).toBe(200);
    expect((await api("GET", "/api/providers/bookings/unread-count", { token: provider.token })).body.data.unreadCount).toBe(0);

    // Accept → the customer's badge and inbox show it.
    const accepted = await api("PUT", `/api/providers/bookings/${bookingId}/status`, {
      token: provider.token,
      body: { status: "accepted" },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.message).toBe("Booking accepted successfully");
    expect((await api("GET", "/api/bookings/unread-count", { token: customer.token })).body.data.unreadCount).toBe(1);
    let cList = await api("GET", "/api/bookings", { token: customer.token });
    expect(cList.body.data.bookings[0]).toMatchObject({
      id: bookingId,
      status: "accepted",
      provider_name: provider.fullName,
      rating: null,
    });
    expect(cList.body.data.pagination.total).toBe(1);
    expect(cList.text).not.toContain(provider.phone);
    expect((await notificationsOf(customer.id)).map((n) => n.title)).toContain("Booking Accepted");
    expect(await outboxEventsFor(customer.id)).toEqual(expect.arrayContaining(["booking_updated", "booking_unread_count_update"]));

    // The rating modal opens: the app marks this booking viewed.
    expect((await api("PUT", `/api/bookings/${bookingId}/mark-viewed`, { token: customer.token })).status).toBe(200);
    expect((await api("GET", "/api/bookings/unread-count", { token: customer.token })).body.data.unreadCount).toBe(0);

    // The provider rates the customer while still accepted, then completes.
    const rc = await api("POST", `/api/providers/bookings/${bookingId}/rate-customer`, { token: provider.token, body: { rating: 4 } });
    expect(rc.status).toBe(201);
    const done = await api("PUT", `/api/providers/bookings/${bookingId}/status`, { token: provider.token, body: { status: "completed" } });
    expect(done.status).toBe(200);
    expect((await api("GET", "/api/bookings/unread-count", { token: customer.token })).body.data.unreadCount).toBe(1);
    expect((await notificationsOf(customer.id)).map((n) => n.title)).toContain("Booking Completed");

    // Earnings count the completed booking today, in the app's format.
    const earnings = await api("GET", "/api/earnings", { token: provider.token });
    expect(earnings.body.data.earnings).toEqual({ today: "₹1,250", thisMonth: "₹1,250", pending: "₹0" });

    // The customer rates; everyone sees it.
    const rated = await api("POST", `/api/bookings/${bookingId}/rate`, {
      token: customer.token,
      body: { rating: 5, review: "Quick and tidy" },
    });
    expect(rated.status).toBe(201);
    cList = await api("GET", "/api/bookings", { token: customer.token });
    expect(cList.body.data.bookings[0]).toMatchObject({ status: "completed", rating: { rating: 5, review: "Quick and tidy" } });
    pList = await api("GET", "/api/providers/bookings?status=completed", { token: provider.token });
    expect(pList.body.data.bookings[0]).toMatchObject({ id: bookingId, status: "completed", rating: { rating: 4 } });
    expect((await notificationsOf(provider.id)).map((n) => n.title)).toContain("New Rating");
    const after = await api("GET", `/api/public/provider-service/${listing.providerServiceId}`);
    expect(after.body.data.provider).toMatchObject({ averageRating: 5, totalReviews: 1 });
    expect(after.body.data.provider.ratings[0]).toMatchObject({ rating: 5, review: "Quick and tidy", customer_name: customer.fullName });
  });
});
