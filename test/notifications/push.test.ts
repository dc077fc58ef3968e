import { createExecutionContext, createMessageBatch, env, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { and, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { notificationSettings, notifications, pushDeliveries, pushTokens, securityEvents } from "../../src/db/schema";
import worker from "../../src/index";
import { CRON } from "../../src/jobs/schedule";
import { dispatchOutbox, notify } from "../../src/outbox/outbox";
import { realtimeGateway } from "../../src/realtime/sink";
import { seedUser } from "../harness";
import { db, runTask, seedPushToken } from "../jobs/fixtures";

/**
 * The notifications queue consumer against the local Expo-compatible mock (scripts/mocks/expo.ts).
 * The mock is shared by every test file, so assertions filter its deliveries by this test's tokens
 * and nothing resets its global state. All Expo-touching tests live in this one file, so the
 * injected failures below are not consumed by another of these tests running in parallel.
 */
const expoOrigin = new URL(env.EXPO_PUSH_URL).origin;
async function expo(path: string, body?: unknown) {
  const res = await fetch(`${expoOrigin}/__expo/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return res.json() as Promise<{ delivered: { to: string; title?: string; data?: Record<string, unknown>; ticketId: string }[] }>;
}
async function deliveredTo(tokens: string[]) {
  const set = new Set(tokens);
  return (await expo("delivered")).delivered.filter((d) => set.has(d.to));
}

/** A notification row written directly (no outbox row, so no other dispatcher sends it behind our back). */
async function notification(userId: string, data: Record<string, unknown> = { type: "booking_confirmed", screen: "bookings" }) {
  const [n] = await db.http
    .insert(notifications)
    .values({ userId, title: "✅ Booking Confirmed", message: "See you soon", type: "booking", data })
    .returning();
  return {
    kind: "push",
    outboxId: 1,
    notificationId: n!.id,
    userId,
    title: n!.title,
    body: n!.message,
    data: { ...data, notificationId: n!.id },
  };
}

async function consume(queue: string, bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  // getQueueResult reports which messages were retried but not their delay; record it on the way.
  const delays = new Map<string, number | undefined>();
  for (const m of batch.messages) {
    const original = m.retry.bind(m);
    m.retry = (opts?: QueueRetryOptions) => {
      delays.set(m.id, opts?.delaySeconds);
      original(opts);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue!(batch, env, ctx);
  await waitOnExecutionContext(ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ids: batch.messages.map((m) => m.id),
    ...result,
    retryMessages: result.retryMessages.map((r) => ({ msgId: r.msgId, delaySeconds: delays.get(r.msgId) })),
  };
}

const deliveriesOf = (notificationIds: string[]) =>
  db.http.select().from(pushDeliveries).where(inArray(pushDeliveries.notificationId, notificationIds));

describe("Expo push consumer", () => {
  it("pushes to every active device in Expo requests of at most 100, records tickets and acks", async () => {
    // 3 users × 50 devices = 150 messages: the mock refuses a request with more than 100.
    const users = await Promise.all([seedUser("user"), seedUser("user"), seedUser("provider")]);
    const tokens: string[] = [];
    for (const u of users) for (let i = 0; i < 50; i++) tokens.push((await seedPushToken(u)).token);
    const inactive = await seedPushToken(users[0]!);
    await db.http.update(pushTokens).set({ isActive: false }).where(eq(pushTokens.id, inactive.id));
    const bodies = await Promise.all(users.map((u) => notification(u.id)));

    const r = await consume("notifications", bodies);

    expect(r.explicitAcks.sort()).toEqual([...r.ids].sort());
    expect(r.retryMessages).toEqual([]);
    const sent = await deliveredTo([...tokens, inactive.token]);
    expect(sent).toHaveLength(150);
    expect(new Set(sent.map((d) => d.to)).size).toBe(150);
    expect(sent[0]!.data).toMatchObject({ screen: "bookings", type: "booking_confirmed" });
    const rows = await deliveriesOf(bodies.map((b) => b.notificationId));
    expect(rows).toHaveLength(150);
    expect(rows.every((d) => d.status === "sent" && d.ticketId)).toBe(true);
    expect(new Set(rows.map((d) => d.ticketId))).toEqual(new Set(sent.map((d) => d.ticketId)));

    // A redelivered message (same notification) pushes nothing twice.
    const again = await consume("notifications", bodies, 2);
    expect(again.explicitAcks).toHaveLength(3);
    expect(await deliveredTo(tokens)).toHaveLength(150);
    expect(await deliveriesOf(bodies.map((b) => b.notificationId))).toHaveLength(150);
  });

  it("honours the user's notification settings (reminders off: no reminder push, booking updates still pushed)", async () => {
    const u = await seedUser("user");
    const { token } = await seedPushToken(u);
    await db.http.insert(notificationSettings).values({ userId: u.id, reminders: false, soundEnabled: false });
    const reminder = await notification(u.id, { type: "daily_reminder", screen: "bookings" });
    const update = await notification(u.id, { type: "booking_confirmed", screen: "bookings" });

    const r = await consume("notifications", [reminder, update]);

    expect(r.explicitAcks).toHaveLength(2);
    const sent = await deliveredTo([token]);
    expect(sent.map((d) => d.data?.type)).toEqual(["booking_confirmed"]);
  });

  for (const status of [503, 429]) {
    it(`retries the message with backoff when Expo answers ${status}, then delivers once`, async () => {
      const u = await seedUser("user");
      const { token } = await seedPushToken(u);
      const body = await notification(u.id);

      await expo("fail", { status, count: 1 });
      const first = await consume("notifications", [body]);
      expect(first.explicitAcks).toEqual([]);
      expect(first.retryMessages).toHaveLength(1);
      expect(first.retryMessages[0]!.delaySeconds).toBeGreaterThanOrEqual(12);
      expect(await deliveredTo([token])).toHaveLength(0);
      const [queued] = await deliveriesOf([body.notificationId]);
      expect(queued!.status).toBe("queued");

      const second = await consume("notifications", [body], 2);
      expect(second.explicitAcks).toHaveLength(1);
      expect(await deliveredTo([token])).toHaveLength(1);
      const [sent] = await deliveriesOf([body.notificationId]);
      expect(sent).toMatchObject({ status: "sent", attempts: 2 });
      // Backoff grows with the attempt number.
      await expo("fail", { status, count: 1 });
      const other = await notification(u.id);
      const later = await consume("notifications", [other], 4);
      expect(later.retryMessages[0]!.delaySeconds).toBeGreaterThan(first.retryMessages[0]!.delaySeconds!);
      await consume("notifications", [other], 5);
    });
  }

  it("deactivates a token Expo reports DeviceNotRegistered on the ticket, and acks (no retry)", async () => {
    const u = await seedUser("user");
    // The mock answers a DeviceNotRegistered ticket for a token it cannot parse.
    const dead = await seedPushToken(u, `ExponentPushToken-gone-${crypto.randomUUID()}`);
    const live = await seedPushToken(u);
    const body = await notification(u.id);

    const r = await consume("notifications", [body]);

    expect(r.explicitAcks).toHaveLength(1);
    const rows = await deliveriesOf([body.notificationId]);
    expect(rows.find((d) => d.pushTokenId === dead.id)).toMatchObject({ status: "failed", errorCode: "DeviceNotRegistered" });
    expect(rows.find((d) => d.pushTokenId === live.id)).toMatchObject({ status: "sent" });
    const [token] = await db.http.select().from(pushTokens).where(eq(pushTokens.id, dead.id));
    expect(token).toMatchObject({ isActive: false, deactivatedReason: "DeviceNotRegistered" });
  });

  it("applies receipts after 15 minutes: delivered, or DeviceNotRegistered deactivating the token", async () => {
    const u = await seedUser("user");
    const gone = await seedPushToken(u);
    const fine = await seedPushToken(u);
    await expo("unregister", { token: gone.token });
    const body = await notification(u.id);
    await consume("notifications", [body]);
    const ids = [body.notificationId];
    expect((await deliveriesOf(ids)).every((d) => d.status === "sent")).toBe(true);

    // Too fresh: receipts are not asked for yet.
    await runTask(CRON.everyTenMinutes, "push-receipts");
    expect((await deliveriesOf(ids)).every((d) => d.status === "sent")).toBe(true);

    await db.http
      .update(pushDeliveries)
      .set({ createdAt: new Date(Date.now() - 20 * 60_000) })
      .where(inArray(pushDeliveries.notificationId, ids));
    await runTask(CRON.everyTenMinutes, "push-receipts");

    const rows = await deliveriesOf(ids);
    expect(rows.find((d) => d.pushTokenId === fine.id)).toMatchObject({ status: "delivered" });
    expect(rows.find((d) => d.pushTokenId === gone.id)).toMatchObject({ status: "failed", errorCode: "DeviceNotRegistered" });
    expect(rows.every((d) => d.receiptCheckedAt !== null)).toBe(true);
    const tokens = await db.http
      .select()
      .from(pushTokens)
      .where(inArray(pushTokens.id, [gone.id, fine.id]));
    expect(tokens.find((t) => t.id === gone.id)!.isActive).toBe(false);
    expect(tokens.find((t) => t.id === fine.id)!.isActive).toBe(true);
  });

  it("dead-letters a message that keeps failing: its last attempt retries, the DLQ consumer records it", async () => {
    const u = await seedUser("user");
    const { token } = await seedPushToken(u);
    const body = await notification(u.id);

    // wrangler.toml: max_retries = 5, so delivery 6 is the last; a retry then goes to notifications-dlq.
    await expo("fail", { status: 503, count: 1 });
    const last = await consume("notifications", [body], 6);
    expect(last.retryMessages).toHaveLength(1);
    expect(await deliveredTo([token])).toHaveLength(0);

    const dlq = await consume("notifications-dlq", [body], 1);
    expect(dlq.ackAll || dlq.explicitAcks.length === 1).toBe(true);
    const [row] = await deliveriesOf([body.notificationId]);
    expect(row).toMatchObject({ status: "failed", errorCode: "DeadLettered" });
    const events = await db.http
      .select()
      .from(securityEvents)
      .where(and(eq(securityEvents.userId, u.id), eq(securityEvents.eventType, "push_dead_lettered")));
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata).toMatchObject({ queue: "notifications-dlq", notificationId: body.notificationId });
    // A dead-lettered delivery is final: a stray redelivery does not send it.
    await consume("notifications", [body], 1);
    expect(await deliveredTo([token])).toHaveLength(0);
  });

  it("records and acks a malformed message instead of retrying it forever", async () => {
    const u = await seedUser("user");
    const r = await consume("notifications", [{ kind: "push", userId: u.id, title: 1 }]);
    expect(r.explicitAcks).toHaveLength(1);
    const events = await db.http
      .select()
      .from(securityEvents)
      .where(and(eq(securityEvents.userId, u.id), eq(securityEvents.eventType, "push_message_invalid")));
    expect(events).toHaveLength(1);
  });
});

describe("outbox → queue → Expo, end to end", () => {
  it("delivers what committed and never what rolled back", async () => {
    const committed = await seedUser("user");
    const rolledBack = await seedUser("user");
    const ok = await seedPushToken(committed);
    const ghost = await seedPushToken(rolledBack);

    await db.transaction(async (tx) => {
      await notify(tx, { userId: committed.id, title: "📋 New Booking Request", message: "Plumber tomorrow", type: "booking" });
    });
    await db
      .transaction(async (tx) => {
        await notify(tx, { userId: rolledBack.id, title: "Ghost", message: "never", type: "booking" });
        throw new Error("rolled back");
      })
      .catch(() => undefined);
    await dispatchOutbox(env, db, realtimeGateway, 1000);

    // The real notifications queue runs the consumer (max_batch_timeout 1 s).
    await vi.waitFor(async () => expect(await deliveredTo([ok.token])).toHaveLength(1), { timeout: 10_000, interval: 250 });
    expect((await deliveredTo([ok.token]))[0]!.title).toBe("📋 New Booking Request");
    // Give a stray delivery the same time to show up; there is nothing to deliver.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deliveredTo([ghost.token])).toHaveLength(0);
    expect(await db.http.select().from(notifications).where(sql`${notifications.userId} = ${rolledBack.id}`)).toHaveLength(0);
  });
});
