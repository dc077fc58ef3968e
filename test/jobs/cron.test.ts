import { and, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { STALE_BOOKING_REASON } from "../../src/bookings/jobs";
import {
  bookings,
  devSmsOutbox,
  loginAttempts,
  notifications,
  otpChallenges,
  outbox,
  providerServices,
  refreshTokens,
  sentReminders,
  sessions,
} from "../../src/db/schema";
import { CRON } from "../../src/jobs/schedule";
import { randomPhone, seedUser } from "../harness";
import { db, hours, notificationsOf, runCron, seedBooking, seedLabourAccess, seedListing, testInstant } from "./fixtures";

/**
 * Cron tasks run through the worker's real scheduled handler. The database is shared with other
 * test files, so each test runs its triggers at an instant of its own in 2021 (`testInstant`) and
 * places its rows relative to it: no other file's rows fall in those windows, and these runs touch
 * none of theirs. Every trigger is run twice in a row: the second run must change and send nothing.
 */
describe("booking reminders (every 10 minutes)", () => {
  it("reminds both sides the day before and two hours before, once each, however often the cron runs", async () => {
    const at = testInstant(1);
    const listing = await seedListing({ expiresAt: hours(24 * 30, at.getTime()) });
    const tomorrow = await seedBooking(listing, { appointmentAt: hours(20, at.getTime()), status: "accepted" });
    const soon = await seedBooking(listing, { appointmentAt: hours(1.5, at.getTime()), status: "pending" });

    await runCron(CRON.everyTenMinutes, at);
    await runCron(CRON.everyTenMinutes, at);

    const dayBefore = await notificationsOf(tomorrow.customer.id, "daily_reminder");
    expect(dayBefore).toHaveLength(1);
    expect(dayBefore[0]!.data).toMatchObject({ bookingId: tomorrow.bookingId, screen: "bookings" });
    // 08:00 IST + 20 h is 04:00 IST the next day.
    expect(dayBefore[0]!.message).toMatch(/appointment is tomorrow at 4:00 AM\.$/);
    const twoHours = await notificationsOf(soon.customer.id, "hourly_reminder");
    expect(twoHours).toHaveLength(1);
    // The day-before window does not catch a booking two hours out, and vice versa.
    expect(await notificationsOf(soon.customer.id, "daily_reminder")).toHaveLength(0);
    expect(await notificationsOf(tomorrow.customer.id, "hourly_reminder")).toHaveLength(0);

    // The provider hears about both; the pending one as a request still waiting for an answer.
    const providerSide = await notificationsOf(listing.provider.id);
    expect(providerSide.map((n) => n.data.type).sort()).toEqual(["daily_reminder", "hourly_reminder"]);
    expect(providerSide.find((n) => n.data.type === "hourly_reminder")!.message).toMatch(/waiting for your answer/);

    const claims = await db.http
      .select()
      .from(sentReminders)
      .where(inArray(sentReminders.subjectId, [tomorrow.bookingId, soon.bookingId]));
    expect(claims.map((c) => c.kind).sort()).toEqual(["booking_day_before", "booking_two_hours_before"]);
    // Each notification queued exactly one push.
    const ids = [...dayBefore, ...twoHours].map((n) => n.id);
    const pushes = await db.http
      .select()
      .from(outbox)
      .where(
        and(eq(outbox.topic, "push.send"), sql`${outbox.payload}->>'notificationId' = any(${sql.raw(`array['${ids.join("','")}']`)})`),
      );
    expect(pushes).toHaveLength(2);
  });

  it("skips bookings made inside the reminder's lead time, and closed bookings", async () => {
    const at = testInstant(2);
    const listing = await seedListing({ expiresAt: hours(24 * 30, at.getTime()) });
    const lastMinute = await seedBooking(listing, { appointmentAt: hours(1, at.getTime()), bookedHoursAhead: 0.5 });
    const cancelled = await seedBooking(listing, { appointmentAt: hours(5, at.getTime()), status: "pending" });
    await db.http.update(bookings).set({ status: "cancelled" }).where(eq(bookings.id, cancelled.bookingId));

    await runCron(CRON.everyTenMinutes, at);

    expect(await notificationsOf(lastMinute.customer.id)).toHaveLength(0);
    expect(await notificationsOf(cancelled.customer.id)).toHaveLength(0);
  });

  it("sends one morning summary per person and IST day", async () => {
    const at = testInstant(3); // 08:00 IST
    const listing = await seedListing({ expiresAt: hours(24 * 30, at.getTime()) });
    const customer = await seedUser("user");
    await seedBooking(listing, { appointmentAt: hours(3, at.getTime()), customer }); // 11:00 IST
    await seedBooking(listing, { appointmentAt: hours(6, at.getTime()), customer, status: "pending" });
    // Tomorrow (IST) is not today's business.
    await seedBooking(listing, { appointmentAt: hours(17, at.getTime()), customer });

    await runCron(CRON.morningIst, at);
    await runCron(CRON.morningIst, at);

    const mine = await notificationsOf(customer.id, "morning_summary");
    expect(mine).toHaveLength(1);
    expect(mine[0]!.message).toBe("You have 2 appointments today, the first at 11:00 AM.");
    // The provider's summary counts accepted bookings only.
    const provider = await notificationsOf(listing.provider.id, "morning_summary");
    expect(provider).toHaveLength(1);
    expect(provider[0]!.message).toMatch(/^You have a .+ appointment today at /);
  });
});

describe("listing and labour-access expiry", () => {
  it("expires listings whose window passed and tells the provider once", async () => {
    const at = testInstant(4);
    const lapsed = await seedListing({ expiresAt: hours(-0.1, at.getTime()) });
    const live = await seedListing({ expiresAt: hours(10, at.getTime()) });

    await runCron(CRON.everyTenMinutes, at);
    await runCron(CRON.everyTenMinutes, at);

    const [row] = await db.http.select().from(providerServices).where(eq(providerServices.id, lapsed.listingId));
    expect(row!.status).toBe("expired");
    const [still] = await db.http.select().from(providerServices).where(eq(providerServices.id, live.listingId));
    expect(still!.status).toBe("active");
    const told = await notificationsOf(lapsed.provider.id, "service_expired");
    expect(told).toHaveLength(1);
    expect(told[0]!.data).toMatchObject({ providerServiceId: lapsed.listingId, screen: "services" });
    expect(await notificationsOf(live.provider.id)).toHaveLength(0);
  });

  it("warns about a listing expiring within two days once per expiry, and again after a renewal's next expiry", async () => {
    const at = testInstant(5);
    const soon = await seedListing({ expiresAt: hours(30, at.getTime()) });
    const later = await seedListing({ expiresAt: hours(24 * 5, at.getTime()) });

    await runCron(CRON.morningIst, at);
    await runCron(CRON.morningIst, at);
    expect(await notificationsOf(soon.provider.id, "service_expiry_warning")).toHaveLength(1);
    expect(await notificationsOf(later.provider.id, "service_expiry_warning")).toHaveLength(0);
    const [stamped] = await db.http.select().from(providerServices).where(eq(providerServices.id, soon.listingId));
    expect(stamped!.expiryWarningSentFor).toEqual(stamped!.expiresAt);

    // Renewed, then nearing the new end: warned again (upstream's per-user 3-day check swallowed this).
    await db.http
      .update(providerServices)
      .set({ expiresAt: hours(40, at.getTime()) })
      .where(eq(providerServices.id, soon.listingId));
    await runCron(CRON.morningIst, at);
    expect(await notificationsOf(soon.provider.id, "service_expiry_warning")).toHaveLength(2);
  });

  it("warns a customer whose labour access ends within two days, unless it was already renewed", async () => {
    const at = testInstant(6);
    const ending = await seedUser("user");
    await seedLabourAccess(ending, hours(20, at.getTime()));
    const renewed = await seedUser("user");
    await seedLabourAccess(renewed, hours(20, at.getTime()));
    await seedLabourAccess(renewed, hours(20 + 7 * 24, at.getTime()));

    await runCron(CRON.morningIst, at);
    await runCron(CRON.morningIst, at);

    const warned = await notificationsOf(ending.id, "labour_access_expiring");
    expect(warned).toHaveLength(1);
    expect(warned[0]!.type).toBe("labour_access");
    expect(await notificationsOf(renewed.id)).toHaveLength(0);
  });
});

describe("stale pending bookings", () => {
  it("cancels pending bookings an hour past their slot with a system reason, telling both sides once", async () => {
    const at = testInstant(7);
    const listing = await seedListing({ expiresAt: hours(24 * 30, at.getTime()) });
    const stale = await seedBooking(listing, { appointmentAt: hours(-2, at.getTime()), status: "pending" });
    const justPassed = await seedBooking(listing, { appointmentAt: hours(-0.25, at.getTime()), status: "pending" });
    const acceptedPast = await seedBooking(listing, { appointmentAt: hours(-3, at.getTime()), status: "accepted" });

    await runCron(CRON.everyTenMinutes, at);
    await runCron(CRON.everyTenMinutes, at);

    const rows = await db.http
      .select()
      .from(bookings)
      .where(inArray(bookings.id, [stale.bookingId, justPassed.bookingId, acceptedPast.bookingId]));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(stale.bookingId)).toMatchObject({
      status: "cancelled",
      cancellationReason: STALE_BOOKING_REASON,
      viewedByCustomer: false,
    });
    expect(byId.get(stale.bookingId)!.cancelledAt).toBeInstanceOf(Date);
    expect(byId.get(justPassed.bookingId)!.status).toBe("pending");
    expect(byId.get(acceptedPast.bookingId)!.status).toBe("accepted");

    expect(await notificationsOf(stale.customer.id, "booking_expired")).toHaveLength(1);
    expect(await notificationsOf(listing.provider.id, "booking_expired")).toHaveLength(1);
    // Content-free socket triggers for both sides, queued once.
    const events = await db.http
      .select()
      .from(outbox)
      .where(and(eq(outbox.topic, "realtime.emit"), sql`${outbox.payload}->'payload'->>'bookingId' = ${stale.bookingId}`));
    expect(events).toHaveLength(2);
  });
});

describe("nightly cleanup and retention", () => {
  it("deletes expired OTPs, refresh tokens, dead sessions and old read notifications, and keeps the rest", async () => {
    const user = await seedUser("user");
    const old = (days: number) => new Date(Date.now() - days * 86_400_000);
    const phone = randomPhone();
    const [otpOld] = await db.http
      .insert(otpChallenges)
      .values({ phone, role: "user", purpose: "login", codeHash: "x", expiresAt: old(2), consumedAt: old(2), createdAt: old(2) })
      .returning({ id: otpChallenges.id });
    const [otpLive] = await db.http
      .insert(otpChallenges)
      .values({ phone, role: "user", purpose: "signup", codeHash: "x", expiresAt: hours(0.1) })
      .returning({ id: otpChallenges.id });
    const [deadSession] = await db.http
      .insert(sessions)
      .values({ userId: user.id, createdAt: old(60), lastSeenAt: old(45), revokedAt: old(40), revokeReason: "logout" })
      .returning({ id: sessions.id });
    const [rtOld] = await db.http
      .insert(refreshTokens)
      .values({
        sessionId: user.sessionId,
        userId: user.id,
        familyId: user.sessionId,
        tokenHash: crypto.randomUUID(),
        createdAt: old(40),
        expiresAt: old(10),
      })
      .returning({ id: refreshTokens.id });
    const [rtLive] = await db.http
      .insert(refreshTokens)
      .values({
        sessionId: user.sessionId,
        userId: user.id,
        familyId: user.sessionId,
        tokenHash: crypto.randomUUID(),
        expiresAt: hours(24 * 20),
      })
      .returning({ id: refreshTokens.id });
    const [attemptOld] = await db.http
      .insert(loginAttempts)
      .values({ phone, outcome: "failed", attemptedAt: old(100) })
      .returning({ id: loginAttempts.id });
    const [smsOld, smsNew] = await db.http
      .insert(devSmsOutbox)
      .values([
        { phone, body: "old code", createdAt: old(2) },
        { phone, body: "new code" },
      ])
      .returning({ id: devSmsOutbox.id });
    const n = (days: number, read: boolean) => ({
      userId: user.id,
      title: "t",
      message: "m",
      type: "system",
      createdAt: old(days),
      readAt: read ? old(days) : null,
    });
    const made = await db.http
      .insert(notifications)
      .values([n(100, true), n(100, false), n(10, true), n(400, false)])
      .returning({ id: notifications.id });

    await runCron(CRON.nightlyIst);
    await runCron(CRON.nightlyIst);

    const has = async (table: typeof otpChallenges | typeof sessions | typeof refreshTokens | typeof loginAttempts, id: string) =>
      (await db.http.select({ id: table.id }).from(table).where(eq(table.id, id))).length === 1;
    expect(await has(otpChallenges, otpOld!.id)).toBe(false);
    const sms = await db.http.select({ id: devSmsOutbox.id }).from(devSmsOutbox).where(eq(devSmsOutbox.phone, phone));
    expect(sms.map((r) => r.id)).toEqual([smsNew!.id]);
    expect(smsOld).toBeDefined();
    expect(await has(otpChallenges, otpLive!.id)).toBe(true);
    expect(await has(sessions, deadSession!.id)).toBe(false);
    expect(await has(sessions, user.sessionId)).toBe(true);
    expect(await has(refreshTokens, rtOld!.id)).toBe(false);
    expect(await has(refreshTokens, rtLive!.id)).toBe(true);
    expect(await has(loginAttempts, attemptOld!.id)).toBe(false);
    const left = await db.http
      .select({ id: notifications.id })
      .from(notifications)
      .where(
        inArray(
          notifications.id,
          made.map((m) => m.id),
        ),
      );
    // Kept: the unread 100-day-old one and the recent read one.
    expect(left.map((l) => l.id).sort()).toEqual([made[1]!.id, made[2]!.id].sort());
  });
});
