import { and, count, desc, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { notificationSettings, pushDeliveries, pushTokens } from "../db/schema";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { AppError } from "../http/errors";
import { text } from "../http/fields";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body, query } from "../http/validate";
import { dispatchAfterCommit, notifyStatement } from "../outbox/outbox";

/**
 * /api/push-notifications: Expo push tokens per device, per-user switches and delivery history
 * (docs/api-contract.md §3.11). Sending lives in the notifications queue consumer, not here.
 *
 * The apps register on login, on every foreground and every 5 minutes, so registration is one
 * idempotent upsert keyed by the token: a token names one install, so it moves to whoever registers
 * it last (upstream left it active under the previous user of a shared device).
 */
export const pushRoutes = new Hono<AppEnv>();
const tags = ["push"];

/** What Expo's `isExpoPushToken` accepts. */
const expoToken = z
  .string()
  .trim()
  .max(200)
  .regex(/^(ExponentPushToken|ExpoPushToken)\[[^\]\s]{1,150}\]$/, "Invalid push token");

const deviceInfo = z
  .object({
    deviceName: text().max(200).nullish(),
    deviceType: z.union([z.number(), z.string().max(50)]).nullish(),
    osName: z.string().max(50).nullish(),
    osVersion: z.string().max(50).nullish(),
    platform: z.string().max(20).nullish(),
    appVersion: z.string().max(50).nullish(),
    appType: z.enum(["user", "provider"]).nullish(),
  })
  .partial()
  .optional();

const registerBody = z.object({ pushToken: expoToken, deviceInfo });
const removeBody = z.object({ pushToken: z.string().trim().max(200).optional() }).optional();

const SETTINGS_DEFAULTS = { booking_updates: true, reminders: true, promotional: false, sound_enabled: true, vibration_enabled: true };
const settingsBody = z.object({
  settings: z
    .object({
      booking_updates: z.boolean(),
      reminders: z.boolean(),
      promotional: z.boolean(),
      sound_enabled: z.boolean(),
      vibration_enabled: z.boolean(),
    })
    .partial(),
});
const historyQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
const testBody = z.object({
  title: z.string().trim().min(1).max(100),
  body: z.string().trim().min(1).max(500),
  data: z.record(z.string(), z.unknown()).optional(),
});

// Response data.
const Settings = z.object({
  settings: z.object({
    booking_updates: z.boolean(),
    reminders: z.boolean(),
    promotional: z.boolean(),
    sound_enabled: z.boolean(),
    vibration_enabled: z.boolean(),
  }),
});
const PushHistory = z.object({
  notifications: z.array(
    z.object({
      id: z.uuid(),
      notification_type: z.string().nullable(),
      title: z.string(),
      body: z.string(),
      data: z.record(z.string(), z.unknown()),
      status: z.enum(["queued", "sent", "delivered", "failed"]),
      created_at: z.string(),
    }),
  ),
  pagination: z.object({
    page: z.number().int(),
    currentPage: z.number().int(),
    limit: z.number().int(),
    total: z.number().int(),
    totalCount: z.number().int(),
    totalPages: z.number().int(),
    hasMore: z.boolean(),
  }),
});

pushRoutes.post(
  "/register-token",
  describe({ summary: "Register this device's Expo push token (idempotent)", tags, response: z.object({ registered: z.literal(true) }) }),
  requireAuth(),
  body(registerBody),
  async (c) => {
    const { userId } = principalOf(c);
    const { pushToken, deviceInfo: info } = c.req.valid("json");
    await c
      .get("db")
      .http.insert(pushTokens)
      .values({ userId, token: pushToken, deviceInfo: (info ?? {}) as Record<string, unknown> })
      .onConflictDoUpdate({
        target: pushTokens.token,
        set: {
          userId,
          deviceInfo: sql`excluded.device_info`,
          isActive: true,
          deactivatedReason: null,
          lastUsedAt: sql`now()`,
        },
      });
    return ok(c, { registered: true }, { message: "Push token registered successfully" });
  },
);

pushRoutes.delete(
  "/token",
  describe({
    summary: "Stop pushes to one device (pushToken in the body) or to all of them",
    tags,
    response: z.object({ removed: z.number().int() }),
  }),
  requireAuth(),
  async (c) => {
    const { userId } = principalOf(c);
    const parsed = removeBody.safeParse(await c.req.json().catch(() => undefined));
    const token = parsed.success ? parsed.data?.pushToken : undefined;
    const rows = await c
      .get("db")
      .http.update(pushTokens)
      .set({ isActive: false, deactivatedReason: "removed_by_user" })
      .where(and(eq(pushTokens.userId, userId), eq(pushTokens.isActive, true), token ? eq(pushTokens.token, token) : undefined))
      .returning({ id: pushTokens.id });
    return ok(c, { removed: rows.length }, { message: "Push token(s) removed successfully" });
  },
);

pushRoutes.get(
  "/settings",
  describe({ summary: "Push notification switches (defaults until changed)", tags, response: Settings }),
  requireAuth(),
  async (c) => {
    const [row] = await c
      .get("db")
      .http.select()
      .from(notificationSettings)
      .where(eq(notificationSettings.userId, principalOf(c).userId));
    const settings = row
      ? {
          booking_updates: row.bookingUpdates,
          reminders: row.reminders,
          promotional: row.promotional,
          sound_enabled: row.soundEnabled,
          vibration_enabled: row.vibrationEnabled,
        }
      : SETTINGS_DEFAULTS;
    return ok(c, { settings });
  },
);

pushRoutes.put(
  "/settings",
  describe({ summary: "Change push notification switches (partial)", tags, response: Settings }),
  requireAuth(),
  body(settingsBody),
  async (c) => {
    const { userId } = principalOf(c);
    const s = c.req.valid("json").settings;
    const set = {
      ...(s.booking_updates !== undefined && { bookingUpdates: s.booking_updates }),
      ...(s.reminders !== undefined && { reminders: s.reminders }),
      ...(s.promotional !== undefined && { promotional: s.promotional }),
      ...(s.sound_enabled !== undefined && { soundEnabled: s.sound_enabled }),
      ...(s.vibration_enabled !== undefined && { vibrationEnabled: s.vibration_enabled }),
    };
    const [row] = await c
      .get("db")
      .http.insert(notificationSettings)
      .values({ userId, ...set })
      .onConflictDoUpdate({ target: notificationSettings.userId, set: Object.keys(set).length ? set : { userId } })
      .returning();
    const settings = {
      booking_updates: row!.bookingUpdates,
      reminders: row!.reminders,
      promotional: row!.promotional,
      sound_enabled: row!.soundEnabled,
      vibration_enabled: row!.vibrationEnabled,
    };
    return ok(c, { settings }, { message: "Notification settings updated successfully" });
  },
);

pushRoutes.get(
  "/history",
  describe({ summary: "Push messages sent to this account, newest first", tags, response: PushHistory }),
  requireAuth(),
  query(historyQuery),
  async (c) => {
    const { userId } = principalOf(c);
    const { page, limit } = c.req.valid("query");
    const db = c.get("db").http;
    const [rows, [total]] = await db.batch([
      db
        .select()
        .from(pushDeliveries)
        .where(eq(pushDeliveries.userId, userId))
        .orderBy(desc(pushDeliveries.createdAt))
        .limit(limit)
        .offset((page - 1) * limit),
      db.select({ n: count() }).from(pushDeliveries).where(eq(pushDeliveries.userId, userId)),
    ]);
    const n = total?.n ?? 0;
    const totalPages = Math.max(1, Math.ceil(n / limit));
    return ok(c, {
      notifications: rows.map((r) => ({
        id: r.id,
        notification_type: typeof r.data.type === "string" ? r.data.type : null,
        title: r.title,
        body: r.body,
        data: r.data,
        status: r.status,
        created_at: r.createdAt.toISOString(),
      })),
      pagination: { page, currentPage: page, limit, total: n, totalCount: n, totalPages, hasMore: page < totalPages },
    });
  },
);

pushRoutes.post(
  "/send-test",
  describe({ summary: "Send yourself a test notification (not in production)", tags, response: z.object({ notificationId: z.uuid() }) }),
  requireAuth(),
  body(testBody),
  async (c) => {
    if (c.get("config").ENVIRONMENT === "production") throw new AppError("FORBIDDEN", "Test notifications are disabled in production");
    const { userId } = principalOf(c);
    const input = c.req.valid("json");
    const sent = notifyStatement(c.get("db").http, {
      userId,
      title: input.title,
      message: input.body,
      type: "system",
      data: { ...input.data, type: "test" },
    });
    await sent.query;
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { notificationId: sent.id }, { message: "Test notification sent successfully" });
  },
);
