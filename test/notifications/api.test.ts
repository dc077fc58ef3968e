import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { notifications, outbox } from "../../src/db/schema";
import { notify } from "../../src/outbox/outbox";
import { api, seedUser, testDb } from "../harness";

const db = testDb();

/** `n` notifications for `userId`, oldest first, one minute apart (so the order is certain). */
async function seed(userId: string, n: number, over: Partial<typeof notifications.$inferInsert> = {}) {
  const base = Date.now() - n * 60_000;
  return db.http
    .insert(notifications)
    .values(
      Array.from({ length: n }, (_, i) => ({
        userId,
        title: `Title ${i}`,
        message: `Message ${i}`,
        type: "booking",
        createdAt: new Date(base + i * 60_000),
        ...over,
      })),
    )
    .returning();
}

describe("GET /api/notifications: the list both apps read", () => {
  it("pages with the keys the user app's load-more reads (currentPage, hasMore) and upstream's spellings", async () => {
    const u = await seedUser("user");
    await seed(u.id, 25);
    const p1 = await api("GET", "/api/notifications?page=1&limit=20", { token: u.token });
    expect(p1.status).toBe(200);
    expect(p1.headers.get("content-type")).toMatch(/application\/json/);
    expect(p1.body.status).toBe("success");
    // The session check rides in the one batched read (page, total, unread).
    expect(p1.headers.get("x-db-round-trips")).toBe("1");
    expect(p1.body.data.notifications).toHaveLength(20);
    expect(p1.body.data.pagination).toMatchObject({
      currentPage: 1,
      totalPages: 2,
      totalCount: 25,
      hasMore: true,
      hasNextPage: true,
      totalItems: 25,
      hasPrevPage: false,
    });
    expect(p1.body.data.notifications[0].title).toBe("Title 24"); // newest first
    const p2 = await api("GET", "/api/notifications?limit=20&page=2", { token: u.token });
    expect(p2.body.data.notifications).toHaveLength(5);
    expect(p2.body.data.pagination).toMatchObject({ currentPage: 2, hasMore: false });
    const seen = new Set([...p1.body.data.notifications, ...p2.body.data.notifications].map((n: { id: string }) => n.id));
    expect(seen.size).toBe(25);
    // The provider app sends no query at all.
    const dflt = await api("GET", "/api/notifications", { token: u.token });
    expect(dflt.body.data.pagination).toMatchObject({ currentPage: 1, limit: 20 });
  });

  it("returns each notification with the fields the apps render, in India time", async () => {
    const u = await seedUser("provider");
    await db.http.insert(notifications).values({
      userId: u.id,
      title: "Payment",
      message: "Paid",
      type: "payment",
      data: { amount: 99, providerName: "Asha" },
      createdAt: new Date("2026-11-28T07:49:00Z"), // 13:19 IST
    });
    const r = await api("GET", "/api/notifications", { token: u.token });
    const n = r.body.data.notifications[0];
    expect(n).toMatchObject({
      title: "Payment",
      message: "Paid",
      type: "payment",
      is_read: false,
      created_at: "2026-11-28T07:49:00.000Z",
      formatted_date: "28 Nov 2026",
      formatted_time: "1:19 pm",
      amount: 99,
      providerName: "Asha",
    });
    expect(typeof n.relative_time).toBe("string");
    expect(r.body.data.unreadCount).toBe(1);
  });

  it("rejects malformed paging with 400 and requires a token", async () => {
    const u = await seedUser("user");
    expect((await api("GET", "/api/notifications?page=0", { token: u.token })).status).toBe(400);
    expect((await api("GET", "/api/notifications?limit=1000", { token: u.token })).status).toBe(400);
    const anon = await api("GET", "/api/notifications");
    expect(anon.status).toBe(401);
  });
});

describe("unread count, mark read, mark all read, delete", () => {
  it("counts unread, marks one and then all read, and queues a notification_updated socket event", async () => {
    const u = await seedUser("user");
    const rows = await seed(u.id, 3);
    expect((await api("GET", "/api/notifications/unread-count", { token: u.token })).body.data.unreadCount).toBe(3);

    const one = await api("PUT", `/api/notifications/${rows[0]!.id}/mark-read`, { token: u.token });
    expect(one.status).toBe(200);
    expect((await api("GET", "/api/notifications/unread-count", { token: u.token })).body.data.unreadCount).toBe(2);
    // Marking it again is harmless (the apps call it optimistically).
    expect((await api("PUT", `/api/notifications/${rows[0]!.id}/mark-read`, { token: u.token })).status).toBe(200);

    const all = await api("PUT", "/api/notifications/mark-all-read", { token: u.token });
    expect(all.status).toBe(200);
    expect(all.body.data.updated).toBe(2);
    expect((await api("GET", "/api/notifications/unread-count", { token: u.token })).body.data.unreadCount).toBe(0);
    const list = await api("GET", "/api/notifications", { token: u.token });
    expect(list.body.data.notifications.every((n: { is_read: boolean }) => n.is_read)).toBe(true);

    const events = await db.http
      .select()
      .from(outbox)
      .where(and(eq(outbox.topic, "realtime.emit"), sql`${outbox.payload}->>'userId' = ${u.id}`));
    expect(events.map((e) => e.payload.event)).toEqual(["notification_updated", "notification_updated"]);
  });

  it("deletes my notification and queues notification_deleted; a second delete is 404", async () => {
    const u = await seedUser("user");
    const [row] = await seed(u.id, 1);
    const del = await api("DELETE", `/api/notifications/${row!.id}`, { token: u.token });
    expect(del.status).toBe(200);
    expect(await db.http.select().from(notifications).where(eq(notifications.id, row!.id))).toHaveLength(0);
    expect((await api("DELETE", `/api/notifications/${row!.id}`, { token: u.token })).status).toBe(404);
    const events = await db.http
      .select()
      .from(outbox)
      .where(and(eq(outbox.topic, "realtime.emit"), sql`${outbox.payload}->>'userId' = ${u.id}`));
    expect(events.map((e) => e.payload.event)).toEqual(["notification_deleted"]);
  });

  it("never reads, marks or deletes another account's notification (404, nothing changes)", async () => {
    const owner = await seedUser("user");
    const other = await seedUser("provider");
    const [row] = await seed(owner.id, 1);
    expect((await api("PUT", `/api/notifications/${row!.id}/mark-read`, { token: other.token })).status).toBe(404);
    expect((await api("DELETE", `/api/notifications/${row!.id}`, { token: other.token })).status).toBe(404);
    await api("PUT", "/api/notifications/mark-all-read", { token: other.token });
    const [still] = await db.http.select().from(notifications).where(eq(notifications.id, row!.id));
    expect(still!.readAt).toBeNull();
    const list = await api("GET", "/api/notifications", { token: other.token });
    expect(list.body.data.notifications).toHaveLength(0);
    expect((await api("GET", "/api/notifications/unread-count", { token: other.token })).body.data.unreadCount).toBe(0);
  });

  it("answers 400 for a malformed id", async () => {
    const u = await seedUser("user");
    const r = await api("PUT", "/api/notifications/not-a-uuid/mark-read", { token: u.token });
    expect(r.status).toBe(400);
    expect(r.body.errorCode).toBe("VALIDATION_ERROR");
  });
});

describe("GET /api/notifications/history and /recent", () => {
  it("filters by the screen's capitalised type, read status and IST dates, with statistics", async () => {
    const u = await seedUser("user");
    await seed(u.id, 3, { type: "booking" });
    await seed(u.id, 2, { type: "rating", readAt: new Date() });
    await seed(u.id, 1, { type: "welcome", createdAt: new Date("2026-01-15T12:00:00Z") });

    const all = await api("GET", "/api/notifications/history?page=1&limit=50", { token: u.token });
    expect(all.status).toBe(200);
    expect(all.body.data.statistics).toEqual({
      total: 6,
      unread: 4,
      booking_notifications: 3,
      rating_notifications: 2,
      report_notifications: 0,
      welcome_notifications: 1,
    });
    expect(all.body.data.pagination).toMatchObject({ totalCount: 6, hasMore: false });

    const booking = await api("GET", "/api/notifications/history?type=Booking", { token: u.token });
    expect(booking.body.data.notifications).toHaveLength(3);
    const read = await api("GET", "/api/notifications/history?readStatus=read", { token: u.token });
    expect(read.body.data.notifications.map((n: { type: string }) => n.type)).toEqual(["rating", "rating"]);
    const day = await api("GET", "/api/notifications/history?dateFrom=2026-01-15&dateTo=2026-01-15", { token: u.token });
    expect(day.body.data.notifications.map((n: { type: string }) => n.type)).toEqual(["welcome"]);
    expect((await api("GET", "/api/notifications/history?dateFrom=yesterday", { token: u.token })).status).toBe(400);
  });

  it("lists what arrived since a timestamp", async () => {
    const u = await seedUser("user");
    const since = Date.now() - 1000;
    await notify(db.http, { userId: u.id, title: "New", message: "Hello", type: "system", push: false });
    const r = await api("GET", `/api/notifications/recent?since=${since}`, { token: u.token });
    expect(r.body.data.count).toBe(1);
    expect(r.body.data.notifications[0].title).toBe("New");
  });
});
