/**
 * What the core worker runs besides HTTP, in one table each: the tasks of every Cron Trigger
 * (wrangler.toml [triggers] crons, UTC) and the consumer of every queue it consumes
 * (wrangler.toml [[queues.consumers]]). src/jobs/cron.ts and src/jobs/queue.ts dispatch from them;
 * test/jobs/schedule.test.ts keeps them and wrangler.toml in step.
 *
 * Every cron task is idempotent and safe to run twice in a row; a consumer acks or retries each
 * message itself (at-least-once delivery: consumers are idempotent).
 */
import { expireStaleBookings } from "../bookings/jobs";
import { sendBookingReminders, sendMorningSummaries } from "../bookings/reminders";
import { createDb, type Db } from "../db/client";
import { loadConfig } from "../env";
import { expireListings, warnExpiringListings } from "../listings/jobs";
import { consumePushBatch, recordDeadLetters } from "../notifications/push-consumer";
import { checkPushReceipts } from "../notifications/receipts";
import { sweepOutbox } from "../outbox/outbox";
import { warnExpiringLabourAccess } from "../payments/labour-access";
import { reconcileDueOrders } from "../payments/reconcile";
import { realtimeGateway } from "../realtime/sink";
import { consumeRefundDeadLetters, consumeRefunds, pollRefunds } from "../refunds/jobs";
import { runCleanup } from "./cleanup";

export type CronTask = { name: string; run: (env: Env, ctx: ExecutionContext, at: Date) => Promise<unknown> };
export type QueueConsumer = (batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) => Promise<void>;

/** The Cron Triggers, by what they are for; the expressions are wrangler.toml's. */
export const CRON = {
  everyTwoMinutes: "*/2 * * * *",
  everyTenMinutes: "*/10 * * * *",
  /** 08:00 IST */
  morningIst: "30 2 * * *",
  /** 03:00 IST */
  nightlyIst: "30 21 * * *",
} as const;

/**
 * A cron task on a database handle of its own. `at` is the trigger's scheduled time, so a late or
 * repeated run computes the same windows. What a task notified is dispatched straight away (the
 * two-minute sweep would otherwise pick it up).
 */
function task(name: string, run: (db: Db, at: Date, env: Env) => Promise<Record<string, unknown>>): CronTask {
  return {
    name,
    run: async (env, _ctx, at) => {
      const db = createDb(loadConfig(env));
      try {
        const result = await run(db, at, env);
        if (Number(result.notified ?? 0) > 0) {
          result.dispatched = await sweepOutbox(env, db, realtimeGateway).catch(
            (err) => `left for the sweep: ${err instanceof Error ? err.message : err}`,
          );
        }
        return result;
      } finally {
        await db.close();
      }
    },
  };
}

/** Cron expression → its tasks. A trigger's tasks run independently: one failure does not stop the others. */
export const SCHEDULE: Record<string, readonly CronTask[]> = {
  [CRON.everyTwoMinutes]: [
    // Outbox → notifications queue / realtime gateway.
    task("outbox-sweep", async (db, _at, env) => ({ dispatched: await sweepOutbox(env, db, realtimeGateway) })),
    // Re-drive open orders through their PaymentOrder Durable Objects (src/payments/reconcile.ts).
    { name: "payments-reconcile", run: (env) => reconcileDueOrders(env) },
    // Pending refunds: ask Paytm through the order's Durable Object (src/refunds/jobs.ts).
    { name: "refunds-poll", run: (env) => pollRefunds(env) },
  ],
  // Notifications, reminders and expiries: all idempotent, windows in India time.
  [CRON.everyTenMinutes]: [
    task("push-receipts", (db, at, env) => checkPushReceipts(db.http, loadConfig(env), at)),
    task("booking-reminders", sendBookingReminders),
    task("listing-expiry", expireListings),
    task("stale-bookings", expireStaleBookings),
  ],
  [CRON.morningIst]: [
    task("morning-summary", sendMorningSummaries),
    task("listing-expiry-warnings", warnExpiringListings),
    task("labour-expiry-warnings", warnExpiringLabourAccess),
  ],
  [CRON.nightlyIst]: [task("cleanup-and-retention", (db, at) => runCleanup(db, at))],
};

/** Queue → its consumer. */
export const CONSUMERS: Record<string, QueueConsumer> = {
  // Expo push (src/notifications/push-consumer.ts); dead letters are recorded on their rows.
  notifications: consumePushBatch,
  "notifications-dlq": recordDeadLetters,
  // Refund apply/status through the order's Durable Object; dead letters → needs_attention (src/refunds/jobs.ts).
  refunds: consumeRefunds,
  "refunds-dlq": consumeRefundDeadLetters,
};
