import { inArray, isNull, sql } from "drizzle-orm";
import { createDb, type HttpDb, type TxDb } from "../db/client";
import { notifications, outbox } from "../db/schema";
import { loadConfig } from "../env";

/**
 * The one small interface every capability uses to tell people things (transactional outbox):
 * `notify` writes the in-app notification and queues its push and its live socket event, `emit`
 * queues a live socket event only. Both write rows inside the caller's transaction, so an event is
 * sent if and only if the change it announces committed. `dispatchOutbox` (after commit, via
 * waitUntil, and from the cron sweep) forwards rows to the notifications queue (push) and to the
 * realtime gateway (sockets). Delivery is at least once; consumers are idempotent.
 *
 * Realtime audience: `any` events are content-free triggers that unauthenticated sockets may get
 * (booking_updated, booking_unread_count_update, notification_created reduced to ids);
 * `authenticated` events (personal data, amounts, call:*) go only to sockets that proved identity.
 */
export type Executor = TxDb | HttpDb;

export type RealtimeEvent = {
  userId: string;
  event: string;
  payload?: Record<string, unknown>;
  audience?: "any" | "authenticated";
};

export type NotifyInput = {
  userId: string;
  title: string;
  message: string;
  /** booking | payment | rating | report | welcome | service_expiry | labour_access | system */
  type: string;
  data?: Record<string, unknown>;
  /** Send an Expo push too (default true). */
  push?: boolean;
  /** Makes a repeated notify (cron re-run, redelivered message) a no-op. */
  dedupKey?: string;
};

export const OUTBOX_TOPICS = { push: "push.send", realtime: "realtime.emit" } as const;

export async function notify(executor: Executor, input: NotifyInput): Promise<{ id: string } | null> {
  // Both executors share drizzle's insert builder; the union only confuses overload resolution.
  const db = executor as TxDb;
  const [row] = await db
    .insert(notifications)
    .values({
      userId: input.userId,
      title: input.title,
      message: input.message,
      type: input.type,
      data: input.data ?? {},
      dedupKey: input.dedupKey,
    })
    .onConflictDoNothing({ target: notifications.dedupKey })
    .returning({ id: notifications.id, createdAt: notifications.createdAt });
  if (!row) return null; // already notified (dedupKey)
  const rows: { topic: string; payload: Record<string, unknown> }[] = [
    {
      topic: OUTBOX_TOPICS.realtime,
      payload: {
        userId: input.userId,
        event: "notification_created",
        audience: "any",
        // Only what cannot identify anyone; the app refetches the list (client-contract §4.3).
        payload: { id: row.id, type: input.type },
      },
    },
  ];
  if (input.push !== false) {
    rows.push({
      topic: OUTBOX_TOPICS.push,
      payload: {
        notificationId: row.id,
        userId: input.userId,
        title: input.title,
        body: input.message,
        data: { type: input.type, ...input.data },
      },
    });
  }
  await db.insert(outbox).values(rows);
  return { id: row.id };
}

export async function emit(db: Executor, events: RealtimeEvent | RealtimeEvent[]): Promise<void> {
  const list = Array.isArray(events) ? events : [events];
  if (list.length === 0) return;
  await db
    .insert(outbox)
    .values(list.map((e) => ({ topic: OUTBOX_TOPICS.realtime, payload: { audience: "any", ...e } as Record<string, unknown> })));
}

/** Delivers realtime events to a user's live sockets. Set by the realtime gateway (src/realtime). */
export type RealtimeSink = (env: Env, events: RealtimeEvent[]) => Promise<void>;
let realtimeSink: RealtimeSink = async () => {};
export function setRealtimeSink(sink: RealtimeSink): void {
  realtimeSink = sink;
}

/**
 * Forwards undispatched outbox rows (oldest first, at most `limit`): pushes go to NOTIFY_QUEUE,
 * realtime events to the gateway. Rows are claimed with SKIP LOCKED so concurrent dispatchers
 * (several requests' waitUntil plus the cron sweep) never send the same row twice in one pass.
 */
export async function dispatchOutbox(
  env: Env,
  db: { transaction: <T>(fn: (tx: TxDb) => Promise<T>) => Promise<T> },
  limit = 200,
): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(outbox)
      .where(isNull(outbox.dispatchedAt))
      .orderBy(outbox.id)
      .limit(limit)
      .for("update", { skipLocked: true });
    if (rows.length === 0) return 0;
    const pushes = rows.filter((r) => r.topic === OUTBOX_TOPICS.push);
    const live = rows.filter((r) => r.topic === OUTBOX_TOPICS.realtime).map((r) => r.payload as unknown as RealtimeEvent);
    if (pushes.length) {
      await env.NOTIFY_QUEUE.sendBatch(pushes.map((r) => ({ body: { kind: "push", outboxId: r.id, ...r.payload } })));
    }
    if (live.length) {
      // Live events are best effort: a socket that misses one refetches on its next screen load.
      await realtimeSink(env, live).catch(() => undefined);
    }
    await tx
      .update(outbox)
      .set({ dispatchedAt: sql`now()`, attempts: sql`${outbox.attempts} + 1` })
      .where(
        inArray(
          outbox.id,
          rows.map((r) => r.id),
        ),
      );
    return rows.length;
  });
}

/**
 * Call after a transaction that wrote outbox rows has committed: dispatches them in the background
 * on a database handle of its own (the request's handle closes when the response is sent).
 * Whatever this misses, the two-minute cron sweep picks up.
 */
export function dispatchAfterCommit(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): void {
  ctx.waitUntil(
    (async () => {
      const db = createDb(loadConfig(env));
      try {
        await dispatchOutbox(env, db);
      } catch (err) {
        console.warn(
          JSON.stringify({
            level: "warn",
            msg: "outbox dispatch failed; cron will retry",
            error: err instanceof Error ? err.message : String(err),
          }),
        );
      } finally {
        await db.close();
      }
    })(),
  );
}
