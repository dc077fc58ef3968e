/**
 * A booking between a fresh customer and a fresh provider (random phones), inserted directly so
 * realtime and call tests do not depend on the bookings API.
 */
import { eq } from "drizzle-orm";
import { type BookingStatus, bookings, providerProfiles, providerServices, servicesMaster, users } from "../../src/db/schema";
import { type SeededUser, seedUser, testDb } from "../harness";

export type BookingFixture = {
  bookingId: string;
  customer: SeededUser;
  provider: SeededUser;
  providerServiceId: string;
  serviceName: string;
};

export async function seedBooking(
  opts: {
    status?: BookingStatus;
    listingStatus?: "active" | "pending";
    /** Both accounts belong to one person (same phone, two roles). */
    samePerson?: boolean;
    unverified?: "customer" | "provider";
  } = {},
): Promise<BookingFixture> {
  const db = testDb();
  try {
    const customer = await seedUser("user");
    const provider = await seedUser("provider", opts.samePerson ? { phone: customer.phone } : {});
    if (opts.unverified) {
      const who = opts.unverified === "customer" ? customer.id : provider.id;
      await db.http.update(users).set({ isVerified: false }).where(eq(users.id, who));
    }
    const [svc] = await db.http
      .select({ id: servicesMaster.id, name: servicesMaster.name })
      .from(servicesMaster)
      .where(eq(servicesMaster.isActive, true))
      .limit(1);
    if (!svc) throw new Error("catalogue not seeded");
    const [profile] = await db.http.insert(providerProfiles).values({ userId: provider.id }).returning({ id: providerProfiles.id });
    const active = (opts.listingStatus ?? "active") === "active";
    const now = Date.now();
    const [listing] = await db.http
      .insert(providerServices)
      .values({
        providerId: profile!.id,
        serviceId: svc.id,
        status: active ? "active" : "pending",
        activatedAt: active ? new Date(now - 86_400_000) : null,
        expiresAt: active ? new Date(now + 30 * 86_400_000) : null,
      })
      .returning({ id: providerServices.id });
    const appointment = new Date(now + 3 * 86_400_000);
    const [b] = await db.http
      .insert(bookings)
      .values({
        customerId: customer.id,
        providerServiceId: listing!.id,
        providerId: profile!.id,
        selectedSubServices: [{ subServiceId: crypto.randomUUID(), slug: "x", name: "Visit", pricePaise: 50_000 }],
        totalPricePaise: 50_000,
        appointmentAt: appointment,
        appointmentDate: appointment.toISOString().slice(0, 10),
        appointmentTime: "10:00 AM",
        status: opts.status ?? "accepted",
      })
      .returning({ id: bookings.id });
    return { bookingId: b!.id, customer, provider, providerServiceId: listing!.id, serviceName: svc.name };
  } finally {
    await db.close();
  }
}
