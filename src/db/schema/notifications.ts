import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { users } from "./users";

/**
 * In-app notifications. Written in the same transaction as the change they announce (or by an outbox
 * consumer); `dedup_key` makes an at-least-once consumer idempotent. No `role` column: an account has
 * one role, and upstream's `role` filter only duplicated that.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    message: text("message").notNull(),
    /** booking | payment | rating | report | welcome | service_expiry | labour_access | system */
    type: text("type").notNull().default("system"),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    dedupKey: text("dedup_key"),
    readAt: timestamptz("read_at"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("notifications_dedup_key_uq").on(t.dedupKey),
    index("notifications_user_created_idx").on(t.userId, t.createdAt.desc()),
    index("notifications_user_unread_idx").on(t.userId).where(sql`${t.readAt} is null`),
    index("notifications_created_idx").on(t.createdAt),
  ],
);

/**
 * Expo push tokens. A token identifies a device install, so it belongs to one user at a time:
 * registering it moves it to the new user (upstream kept it active under the previous user of a shared
 * device) and a user may have several active devices (upstream deactivated all but the newest).
 * The apps re-register every 5 minutes, so registration is an upsert on `token`.
 */
export const pushTokens = pgTable(
  "push_tokens",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    token: text("token").notNull(),
    deviceInfo: jsonb("device_info").$type<Record<string, unknown>>().notNull().default({}),
    isActive: boolean("is_active").notNull().default(true),
    /** e.g. DeviceNotRegistered, logout, moved_to_other_user */
    deactivatedReason: text("deactivated_reason"),
    createdAt: createdAt(),
    lastUsedAt: timestamptz("last_used_at").notNull().defaultNow(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("push_tokens_token_uq").on(t.token), index("push_tokens_user_active_idx").on(t.userId).where(sql`${t.isActive}`)],
);

/** `queued` → `sent` (Expo ticket ok) → `delivered` | `failed` (from the receipt, or a ticket error). */
export const pushDeliveryStatus = pgEnum("push_delivery_status", ["queued", "sent", "delivered", "failed"]);

/**
 * One push message to one device: the Expo ticket and, later, its receipt. A row is also the claim
 * that makes the queue consumer idempotent: one row per (notification, device), so a redelivered
 * queue message never pushes the same notification to the same device twice.
 */
export const pushDeliveries = pgTable(
  "push_deliveries",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    pushTokenId: uuid("push_token_id").references(() => pushTokens.id, { onDelete: "set null" }),
    notificationId: uuid("notification_id").references(() => notifications.id, { onDelete: "set null" }),
    title: text("title").notNull(),
    body: text("body").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    status: pushDeliveryStatus("status").notNull().default("queued"),
    /** Expo push ticket id; receipts are fetched by it. */
    ticketId: text("ticket_id"),
    /** e.g. DeviceNotRegistered, MessageRateExceeded */
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    attempts: integer("attempts").notNull().default(0),
    receiptCheckedAt: timestamptz("receipt_checked_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("push_deliveries_ticket_uq").on(t.ticketId),
    unique("push_deliveries_notification_token_uq").on(t.notificationId, t.pushTokenId),
    index("push_deliveries_status_created_idx").on(t.status, t.createdAt),
    index("push_deliveries_user_created_idx").on(t.userId, t.createdAt.desc()),
  ],
);

/** Per-user switches (upstream stored them and no sender read them). Absent row = defaults. */
export const notificationSettings = pgTable("notification_settings", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  bookingUpdates: boolean("booking_updates").notNull().default(true),
  reminders: boolean("reminders").notNull().default(true),
  promotional: boolean("promotional").notNull().default(false),
  soundEnabled: boolean("sound_enabled").notNull().default(true),
  vibrationEnabled: boolean("vibration_enabled").notNull().default(true),
  updatedAt: updatedAt(),
});

export const reminderKind = pgEnum("reminder_kind", [
  "booking_day_before",
  "booking_two_hours_before",
  "morning_summary",
  "listing_expiry_warning",
  "labour_expiry_warning",
]);

/**
 * De-duplication of cron reminders: a job claims a reminder with `INSERT ... ON CONFLICT DO NOTHING
 * RETURNING` and only sends what it inserted, so overlapping or retried cron runs send once.
 * `subject_id` is the booking / user / listing / labour-access row; `period` distinguishes repeats
 * of the same kind ('' for per-booking kinds, the IST date for morning summaries, the ISO expiry for
 * expiry warnings). Upstream de-duplicated through a log table by UTC date.
 */
export const sentReminders = pgTable(
  "sent_reminders",
  {
    kind: reminderKind("kind").notNull(),
    subjectId: uuid("subject_id").notNull(),
    period: text("period").notNull().default(""),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    sentAt: timestamptz("sent_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "sent_reminders_pk", columns: [t.kind, t.subjectId, t.period] }),
    index("sent_reminders_sent_idx").on(t.sentAt),
  ],
);
