/**
 * The switch-over as the apps' users live it: the old backend's database (test/tools/import-legacy/
 * fixture.ts) was imported into this suite's database by the global setup, with the legacy importer.
 * These tests sign in as the old users through the real worker.
 */
import { describe, expect, inject, it } from "vitest";
import { endOfIstDay } from "../../scripts/import-legacy/legacy.ts";
import type { SignupRole } from "../../src/db/schema";
import { api, randomIp, seedUser } from "../harness";
import { istSlot } from "../ist-slot";

const f = inject("legacyImport");

async function login(phone: string, password: string, role: SignupRole) {
  const r = await api("POST", "/api/auth/login", { headers: { "cf-connecting-ip": randomIp() }, body: { phone, password, role } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data as { accessToken: string; user: { id: string } };
}

describe("after the switch-over", () => {
  it("an imported customer logs in with the password they had, with the number as they typed it on the old app", async () => {
    const s = await login(f.customer.storedPhone, f.customer.password, "user");
    expect(s.user.id).toBe(f.customer.id);
    const wrong = await api("POST", "/api/auth/login", {
      headers: { "cf-connecting-ip": randomIp() },
      body: { phone: f.customer.phone, password: "not-the-old-password", role: "user" },
    });
    expect(wrong.status).toBe(401);
  });

  it("the customer sees their bookings in the apps' shape; retried duplicates and impossible rows are not there", async () => {
    const { accessToken } = await login(f.customer.phone, f.customer.password, "user");
    const r = await api("GET", "/api/bookings?limit=50", { token: accessToken });
    expect(r.status).toBe(200);
    const list = r.body.data.bookings as Array<Record<string, unknown>>;
    const b = f.bookings;
    expect(list.map((x) => x.id).sort()).toEqual(
      [b.completed, b.pending, b.accepted, b.cancelled, b.retried, b.unknownSubService, b.zeroPrice].sort(),
    );
    const completed = list.find((x) => x.id === b.completed)!;
    expect(completed).toMatchObject({
      status: "completed",
      appointment_time: "10:00 AM",
      provider_id: f.provider.id,
      provider_name: f.provider.name,
      provider_service_id: f.listing.id,
      selected_service: "tap-installation",
      selected_services: [{ serviceId: "tap-installation", serviceName: "Tap Installation", price: 300 }],
      service_charge_value: 300,
      rating: { rating: 5, review: "Fixed the tap in ten minutes" },
      report_reason: "Unprofessional behaviour",
    });
    expect(list.find((x) => x.id === b.unknownSubService)).toMatchObject({ status: "pending", appointment_time: "10:00 AM" });
    expect(r.body.data.pagination).toMatchObject({ total: 7, totalItems: 7 });
  });

  it("an imported paid listing stays active until the old expiry, and customers can book it", async () => {
    const provider = await login(f.provider.phone, f.provider.password, "provider");
    const regs = await api("GET", "/api/services/my-registrations", { token: provider.accessToken });
    expect(regs.status).toBe(200);
    const listing = (regs.body.data.registeredServices as Array<Record<string, unknown>>).find(
      (x) => x.provider_service_id === f.listing.id,
    );
    expect(listing).toMatchObject({ payment_status: "active", payment_end_date: endOfIstDay(f.listing.paidThrough) });
    // The imported customer already holds the open-booking cap with this provider (the old server had
    // no cap); a customer who signed up after the switch-over books the imported listing.
    const customer = await login(f.customer.phone, f.customer.password, "user");
    const capped = await api("POST", "/api/bookings", {
      token: customer.accessToken,
      body: { providerServiceId: f.listing.id, selectedServices: ["shower-installation"], ...istSlot(2, 15) },
    });
    expect(capped.status, JSON.stringify(capped.body)).toBe(409);
    const newcomer = await seedUser("user");
    const booked = await api("POST", "/api/bookings", {
      token: newcomer.token,
      body: { providerServiceId: f.listing.id, selectedServices: ["shower-installation"], ...istSlot(2, 15) },
    });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
  });

  it("an imported labour pass allows a labour booking; a pass the old server showed without any payment does not", async () => {
    const customer = await login(f.customer.phone, f.customer.password, "user");
    const status = await api("GET", "/api/payments/labour-access-status", { token: customer.accessToken });
    expect(status.body.data).toMatchObject({ hasAccess: true });
    expect(Date.parse(status.body.data.endDate)).toBe(Date.parse(f.labourPayment.paidAt) + 7 * 86_400_000);
    const booked = await api("POST", "/api/bookings", {
      token: customer.accessToken,
      body: { providerServiceId: f.labourListing.id, selectedServices: ["per-hour-charges"], ...istSlot(2, 10) },
    });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);

    const unpaid = await login(f.unpaidPassCustomer.phone, f.unpaidPassCustomer.password, "user");
    const denied = await api("POST", "/api/bookings", {
      token: unpaid.accessToken,
      body: { providerServiceId: f.labourListing.id, selectedServices: ["per-hour-charges"], ...istSlot(2, 11) },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.errorCode).toBe("LABOUR_ACCESS_REQUIRED");
  });
});
