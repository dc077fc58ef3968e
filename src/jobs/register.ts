/**
 * Registers every capability's queue consumers and cron tasks (imported once by src/index.ts).
 * Capabilities add one line each here; the tables live in queue.ts and cron.ts.
 */
import { expireStaleBookings } from "../bookings/jobs";
import { sendBookingReminders, sendMorningSummaries } from "../bookings/reminders";
import { createDb, type Db } from "../db/client";
import { loadConfig } from "../env";
import { expireListings, warnExpiringListings } from "../listings/jobs";
import { dispatchOutbox } from "../notifications/outbox";
import { consumePushBatch, recordDeadLetters } from "../notifications/push-consumer";
import { checkPushReceipts } from "../notifications/receipts";
import { warnExpiringLabourAccess } from "../payments/labour-access";
import { reconcileDueOrders } from "../payments/reconcile";
// Registers the outbox's live-socket sink (realtime gateway).
import "../realtime/sink";
import { consumeRefundDeadLetters, consumeRefunds, pollRefunds } from "../refunds/jobs";
import { runCleanup } from "./cleanup";
import { CRON, type CronTask, cronTasks } from "./cron";
import { consumers } from "./queue";

/** Drains the outbox: at most 10 passes of 200 rows per call. */
async function sweepOutbox(env: Env, db: Db): Promise<number> {
  let total = 0;
  for (let i = 0; i < 10; i++) {
    const n = await dispatchOutbox(env, db);
    total += n;
    if (n === 0) break;
  }
  return total;
}

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
          result.dispatched = await sweepOutbox(env, db).catch((err) => `left for the sweep: ${err instanceof Error ? err.message : err}`);
        }
        return result;
      } finally {
        await db.close();
      }
    },
  };
}

// Outbox → notifications queue / realtime gateway.
cronTasks[CRON.everyTwoMinutes]!.push(task("outbox-sweep", async (db, _at, env) => ({ dispatched: await sweepOutbox(env, db) })));

// Notifications and push (src/notifications, src/jobs): all idempotent, windows in India time.
cronTasks[CRON.everyTenMinutes]!.push(
  task("push-receipts", (db, at, env) => checkPushReceipts(db.http, loadConfig(env), at)),
  task("booking-reminders", sendBookingReminders),
  task("listing-expiry", expireListings),
  task("stale-bookings", expireStaleBookings),
);
cronTasks[CRON.morningIst]!.push(
  task("morning-summary", sendMorningSummaries),
  task("listing-expiry-warnings", warnExpiringListings),
  task("labour-expiry-warnings", warnExpiringLabourAccess),
);
cronTasks[CRON.nightlyIst]!.push(task("cleanup-and-retention", (db, at) => runCleanup(db, at)));

consumers.notifications = consumePushBatch;
consumers["notifications-dlq"] = recordDeadLetters;

// Payments: re-drive open orders through their PaymentOrder Durable Objects (src/payments/reconcile.ts).
cronTasks[CRON.everyTwoMinutes]!.push({ name: "payments-reconcile", run: (env) => reconcileDueOrders(env) });

// Refunds (src/refunds): apply via the order's Durable Object, dead letters → needs_attention; poll pending refunds.
consumers.refunds = consumeRefunds;
consumers["refunds-dlq"] = consumeRefundDeadLetters;
cronTasks[CRON.everyTwoMinutes]!.push({ name: "refunds-poll", run: (env) => pollRefunds(env) });
