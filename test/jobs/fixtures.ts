/**
 * Seeds for the cron and push tests: listings, bookings, labour access and push tokens written
 * straight to the database (these tests are about what the jobs do with rows, not how the rows
 * were created). Every helper makes fresh rows, so files can share the database.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import {
  bookings,
  labourAccess,
  notifications,
  paymentOrders,
  providerProfiles,
  providerServices,
  pushTokens,
  servicesMaster,
} from "../../src/db/schema";
import worker from "../../src/index";
import { SCHEDULE } from "../../src/jobs/schedule";
import { type SeededUser, seedUser, testDb } from "../harness";

export const db = testDb();
const HOUR = 3_600_000;
export const hours = (n: number, from = Date.now()) => new Date(from + n * HOUR);

/** A provider account with a profile and one listing (status and window as given). */
export async function seedListing(over: { status?: "active" | "pending" | "expired"; expiresAt?: Date } = {}) {
  const provider = await seedUser("provider");
  const [svc] = await db.http
    .select({ id: servicesMaster.id, name: servicesMaster.name })
    .from(servicesMaster)
    .where(eq(servicesMaster.isActive, true))
    .limit(1);
  const [profile] = await db.http.insert(providerProfiles).values({ userId: provider.id }).returning({ id: providerProfiles.id });
  const status = over.status ?? "active";
  const expiresAt = over.expiresAt ?? hours(24 * 20);
  const [listing] = await db.http
    .insert(providerServices)
    .values({
      providerId: profile!.id,
      serviceId: svc!.id,
      status,
      activatedAt: status === "pending" ? null : new Date(expiresAt.getTime() - 30 * 24 * HOUR),
      expiresAt: status === "pending" ? null : expiresAt,
    })
    .returning({ id: providerServices.id });
  return { provider, profileId: profile!.id, listingId: listing!.id, service: svc!.name };
}

/** A booking of `listing` by a new customer (or `customer`), made `bookedHoursAhead` before the slot. */
export async function seedBooking(
  listing: Awaited<ReturnType<typeof seedListing>>,
  over: { appointmentAt: Date; status?: "pending" | "accepted"; bookedHoursAhead?: number; customer?: SeededUser },
) {
  const customer = over.customer ?? (await seedUser("user"));
  const at = over.appointmentAt;
  const createdAt = new Date(at.getTime() - (over.bookedHoursAhead ?? 72) * HOUR);
  const ist = new Date(at.getTime() + 330 * 60_000);
  const h = ist.getUTCHours();
  const [b] = await db.http
    .insert(bookings)
    .values({
      customerId: customer.id,
      providerServiceId: listing.listingId,
      providerId: listing.profileId,
      selectedSubServices: [{ subServiceId: crypto.randomUUID(), slug: "test", name: "Test", pricePaise: 50_000 }],
      totalPricePaise: 50_000,
      appointmentAt: at,
      appointmentDate: ist.toISOString().slice(0, 10),
      appointmentTime: `${h % 12 === 0 ? 12 : h % 12}:${String(ist.getUTCMinutes()).padStart(2, "0")} ${h < 12 ? "AM" : "PM"}`,
      status: over.status ?? "accepted",
      createdAt,
    })
    .returning({ id: bookings.id });
  return { bookingId: b!.id, customer };
}

/** A paid labour-access window for `user` ending at `expiresAt`. */
export async function seedLabourAccess(user: SeededUser, expiresAt: Date) {
  const startsAt = new Date(expiresAt.getTime() - 7 * 24 * HOUR);
  const [order] = await db.http
    .insert(paymentOrders)
    .values({
      paytmOrderId: `T${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`,
      userId: user.id,
      purpose: "labour_access",
      amountPaise: 9900,
      validityDays: 7,
      status: "paid",
      paidAt: startsAt,
      gatewayTxnId: crypto.randomUUID(),
      expiresAt: startsAt,
    })
    .returning({ id: paymentOrders.id });
  const [row] = await db.http
    .insert(labourAccess)
    .values({ userId: user.id, orderId: order!.id, startsAt, expiresAt })
    .returning({ id: labourAccess.id });
  return row!.id;
}

export function expoToken(): string {
  return `ExponentPushToken[${crypto.randomUUID()}]`;
}

export async function seedPushToken(user: { id: string }, token = expoToken()) {
  const [row] = await db.http
    .insert(pushTokens)
    .values({ userId: user.id, token })
    .returning({ id: pushTokens.id, token: pushTokens.token });
  return row!;
}

/**
 * Runs the worker's scheduled handler for `cron` at `at` and waits for everything it started.
 * Cron tasks act on the whole shared database, so tests that seed rows for them use an instant of
 * their own in the past (`testInstant`): nothing another test file creates falls in its windows.
 */
export async function runCron(cron: string, at = new Date()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime: at.getTime() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** One registered task of a trigger, on its own (the others of that trigger are not run). */
export async function runTask(cron: string, name: string, at = new Date()) {
  const task = SCHEDULE[cron]?.find((t) => t.name === name);
  if (!task) throw new Error(`no cron task ${name} on ${cron}`);
  const ctx = createExecutionContext();
  const result = await task.run(env, ctx, at);
  await waitOnExecutionContext(ctx);
  return result;
}

/** 08:00 IST on a day of 2021 reserved for test `n` of a file. */
export function testInstant(n: number): Date {
  return new Date(Date.UTC(2021, 0, 1 + 5 * n, 2, 30));
}

export async function notificationsOf(userId: string, type?: string) {
  const rows = await db.http
    .select()
    .from(notifications)
    .where(type ? and(eq(notifications.userId, userId), sql`${notifications.data}->>'type' = ${type}`) : eq(notifications.userId, userId));
  return rows;
}
