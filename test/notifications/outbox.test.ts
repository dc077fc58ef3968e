import { env } from "cloudflare:test";
import { and, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { notifications, outbox } from "../../src/db/schema";
import { changeWithOutbox, dispatchOutbox, MAX_DISPATCH_ATTEMPTS, notify, notifyMany, notifyStatement } from "../../src/outbox/outbox";
import { realtimeGateway } from "../../src/realtime/sink";
import { seedUser, testDb } from "../harness";

const db = testDb();

const outboxOf = (userId: string) => db.http.select().from(outbox).where(sql`${outbox.payload}->>'userId' = ${userId}`);

describe("transactional outbox", () => {
  it("writes the notification, its push and its socket trigger together; the push names a screen", async () => {
    const u = await seedUser("user");
    const n = await notify(db.http, {
      userId: u.id,
      title: "Accepted",
      message: "Your booking was accepted",
      type: "booking",
      data: { bookingId: "b1" },
    });
    const rows = await outboxOf(u.id);
    expect(rows.map((r) => r.topic).sort()).toEqual(["push.send", "realtime.emit"]);
    const push = rows.find((r) => r.topic === "push.send")!.payload;
    expect(push).toMatchObject({ notificationId: n!.id, title: "Accepted", body: "Your booking was accepted" });
    expect(push.data).toEqual({ type: "booking", bookingId: "b1", screen: "bookings", notificationId: n!.id });
    // The socket trigger carries ids only (unauthenticated sockets may receive it).
    expect(rows.find((r) => r.topic === "realtime.emit")!.payload).toEqual({
      userId: u.id,
      event: "notification_created",
      audience: "any",
      payload: {
        id: n!.id,
        type: "booking",
        createdAt: expect.any(String),
        notification: {
          id: n!.id,
          title: "New notification",
          message: "You have a new notification.",
          created_at: expect.any(String),
          is_read: false,
        },
      },
    });
  });

  it("a repeated dedupKey is a no-op: no second notification, no second push", async () => {
    const u = await seedUser("user");
    const key = `test:${crypto.randomUUID()}`;
    const first = await notify(db.http, { userId: u.id, title: "t", message: "m", type: "system", dedupKey: key });
    const again = await notify(db.http, { userId: u.id, title: "t", message: "m", type: "system", dedupKey: key });
    expect(first).not.toBeNull();
    expect(again).toBeNull();
    expect(await db.http.select().from(notifications).where(eq(notifications.userId, u.id))).toHaveLength(1);
    expect(await outboxOf(u.id)).toHaveLength(2);
  });

  it("notifyStatement writes in one batch exactly the rows notify writes, the trigger stamped with the row's created_at", async () => {
    const a = await seedUser("user");
    const b = await seedUser("user");
    const input = (userId: string) => ({
      userId,
      title: "Accepted",
      message: "Your booking was accepted",
      type: "booking",
      data: { bookingId: "b1" },
    });
    const viaNotify = await notify(db.http, input(a.id));
    const viaStatement = notifyStatement(db.http, input(b.id));
    const [, [row]] = await db.http.batch([
      viaStatement.query,
      db.http.select().from(notifications).where(eq(notifications.id, viaStatement.id)),
    ]);
    expect(row).toMatchObject({
      userId: b.id,
      title: "Accepted",
      message: "Your booking was accepted",
      type: "booking",
      data: { bookingId: "b1" },
    });
    // The same outbox rows, once the ids and timestamps are named.
    const normalised = async (userId: string, id: string) =>
      JSON.parse(
        JSON.stringify(await outboxOf(userId))
          .replaceAll(id, "<id>")
          .replaceAll(userId, "<user>"),
      )
        .map((r: { topic: string; payload: Record<string, unknown> }) => ({ topic: r.topic, payload: r.payload }))
        .sort((x: { topic: string }, y: { topic: string }) => x.topic.localeCompare(y.topic));
    const fromNotify = await normalised(a.id, viaNotify!.id);
    const fromStatement = await normalised(b.id, viaStatement.id);
    for (const rows of [fromNotify, fromStatement]) {
      const trigger = rows.find((r: { topic: string }) => r.topic === "realtime.emit").payload.payload;
      expect(trigger.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(trigger.notification.created_at).toBe(trigger.createdAt);
      trigger.createdAt = trigger.notification.created_at = "<at>";
    }
    expect(fromStatement).toEqual(fromNotify);
    const [stamped] = await db.http.select().from(notifications).where(eq(notifications.id, viaStatement.id));
    const trigger = (await outboxOf(b.id)).find((r) => r.topic === "realtime.emit")!.payload.payload as { createdAt: string };
    expect(trigger.createdAt).toBe(stamped!.createdAt.toISOString());
  });

  it("notifyStatement: `when` false or a repeated dedupKey writes nothing; push false writes no push row", async () => {
    const u = await seedUser("user");
    const key = `test:${crypto.randomUUID()}`;
    const base = { userId: u.id, title: "t", message: "m", type: "system" };
    await db.http.batch([
      notifyStatement(db.http, { ...base, dedupKey: key }).query,
      notifyStatement(db.http, { ...base, dedupKey: key }).query,
      notifyStatement(db.http, base, { when: sql`false` }).query,
      notifyStatement(db.http, { ...base, push: false }).query,
    ]);
    expect(await db.http.select().from(notifications).where(eq(notifications.userId, u.id))).toHaveLength(2);
    expect((await outboxOf(u.id)).map((r) => r.topic).sort()).toEqual(["push.send", "realtime.emit", "realtime.emit"]);
  });

  it("rows written in a rolled-back transaction never exist, so nothing can dispatch them", async () => {
    const u = await seedUser("user");
    await expect(
      db.transaction(async (tx) => {
        await notify(tx, { userId: u.id, title: "Ghost", message: "never", type: "system" });
        expect(await tx.select().from(outbox).where(sql`${outbox.payload}->>'userId' = ${u.id}`)).toHaveLength(2);
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    await dispatchOutbox(env, db, realtimeGateway, 1000);
    expect(await outboxOf(u.id)).toHaveLength(0);
    expect(await db.http.select().from(notifications).where(eq(notifications.userId, u.id))).toHaveLength(0);
  });

  it("dispatches more pushes than one queue batch holds (Queues takes at most 100 per sendBatch)", async () => {
    const u = await seedUser("user");
    const written = await notifyMany(
      db.http,
      Array.from({ length: 150 }, (_, i) => ({ userId: u.id, title: `n${i}`, message: "m", type: "system" })),
    );
    expect(written).toHaveLength(150);
    // Fails as a whole if the 150 pushes go to the queue in one sendBatch.
    await dispatchOutbox(env, db, realtimeGateway, 1000);
    const rows = await outboxOf(u.id);
    expect(rows).toHaveLength(300);
    expect(rows.filter((r) => r.dispatchedAt === null)).toHaveLength(0);
  });

  it("a row the queue refuses is recorded and retried later without holding back the rows around it", async () => {
    const u = await seedUser("user");
    await notify(db.http, { userId: u.id, title: "before", message: "m", type: "system" });
    // Over the 128 KB message limit: sendBatch and send both refuse it.
    const [poison] = await db.http
      .insert(outbox)
      .values({
        topic: "push.send",
        payload: { userId: u.id, notificationId: crypto.randomUUID(), title: "x".repeat(140_000), body: "", data: {} },
      })
      .returning({ id: outbox.id });
    await notify(db.http, { userId: u.id, title: "after", message: "m", type: "system" });
    try {
      await dispatchOutbox(env, db, realtimeGateway, 1000);
      const rows = await outboxOf(u.id);
      const bad = rows.find((r) => r.id === poison!.id)!;
      expect(bad.dispatchedAt).toBeNull();
      expect(bad.attempts).toBeGreaterThanOrEqual(1);
      expect(bad.lastError).toBeTruthy();
      expect(rows.filter((r) => r.id !== poison!.id && r.dispatchedAt === null)).toHaveLength(0);
      // After MAX_DISPATCH_ATTEMPTS it is left for an operator instead of being retried forever.
      await db.http.update(outbox).set({ attempts: MAX_DISPATCH_ATTEMPTS }).where(eq(outbox.id, poison!.id));
      await dispatchOutbox(env, db, realtimeGateway, 1000);
      const [after] = await db.http.select().from(outbox).where(eq(outbox.id, poison!.id));
      expect(after!.attempts).toBe(MAX_DISPATCH_ATTEMPTS);
    } finally {
      await db.http.delete(outbox).where(and(eq(outbox.id, poison!.id), inArray(outbox.topic, ["push.send"])));
    }
  });

  it("changeWithOutbox writes notifyMany's rows in one statement, only when its change returns a row", async () => {
    const [a, b] = [await seedUser("user"), await seedUser("user")];
    const inputs = (u: string) => [
      { userId: u, title: "Pushed", message: "m1", type: "booking", data: { bookingId: "b1", screen: "bookings" } },
      { userId: u, title: "Quiet", message: "m2", type: "report", data: { reportId: "r1" }, push: false },
    ];
    const events = (u: string) => [{ userId: u, event: "booking_updated", payload: { bookingId: "b1" } }];
    await notifyMany(db.http, inputs(a.id), events(a.id));
    // The change is a no-op update: nothing is written.
    const none = await db.http.execute(
      changeWithOutbox(sql`update users set full_name = full_name where id = ${b.id} and false returning id`, inputs(b.id), events(b.id)),
    );
    expect(none.rows).toEqual([]);
    expect(await outboxOf(b.id)).toEqual([]);
    expect(await db.http.select().from(notifications).where(eq(notifications.userId, b.id))).toEqual([]);
    // The change happens: the same rows as notifyMany, in the same order, and the change's rows come back.
    const done = await db.http.execute(
      changeWithOutbox(sql`update users set full_name = full_name where id = ${b.id} returning id`, inputs(b.id), events(b.id)),
    );
    expect(done.rows).toEqual([{ id: b.id }]);
    const shapeOf = async (userId: string) => {
      const notes = await db.http.select().from(notifications).where(eq(notifications.userId, userId));
      const rows = (await outboxOf(userId)).sort((x, y) => x.id - y.id);
      const names = new Map(notes.map((n) => [n.id, n.title]));
      // Ids and times differ between the two writers; everything else must not.
      return rows.map((r) => {
        const text = JSON.stringify(r.payload);
        let named = text;
        for (const [id, title] of names) named = named.replaceAll(id, `<${title}>`);
        const note = notes.find((n) => text.includes(n.id));
        if (note) named = named.replaceAll(note.createdAt.toISOString(), "<created_at>");
        return { topic: r.topic, payload: JSON.parse(named.replaceAll(userId, "<user>")) };
      });
    };
    const expected = await shapeOf(a.id);
    expect(expected).toHaveLength(4);
    expect(await shapeOf(b.id)).toEqual(expected);
    // A repeated dedupKey is skipped with its rows, as in notifyMany.
    const key = `test:${crypto.randomUUID()}`;
    const once = { userId: b.id, title: "Once", message: "m", type: "system", dedupKey: key };
    const change = sql`update users set full_name = full_name where id = ${b.id} returning id`;
    await db.http.batch([db.http.execute(changeWithOutbox(change, [once])), db.http.execute(changeWithOutbox(change, [once]))]);
    expect(await db.http.select().from(notifications).where(eq(notifications.dedupKey, key))).toHaveLength(1);
    expect((await outboxOf(b.id)).filter((r) => JSON.stringify(r.payload).includes("Once"))).toHaveLength(1);
  });
});
