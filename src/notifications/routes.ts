import { Hono } from "hono";
import { z } from "zod";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { notFound } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { params, query } from "../http/validate";
import { dispatchAfterCommit } from "../outbox/outbox";
import { HistoryQuery, HistoryResponse, IdParam, ListQuery, ListResponse, RecentQuery, RecentResponse } from "./schemas";
import { deleteNotification, listNotifications, markAllRead, markRead, recentNotifications, unreadCount } from "./service";

/**
 * /api/notifications: the caller's in-app notifications (docs/api-contract.md §3.10). Any signed-in
 * account (user, provider, admin) reads only its own rows. Static paths are declared before `/:id`.
 */
const tags = ["notifications"];
const auth = requireAuth();

export const notificationsRoutes = new Hono<AppEnv>()
  .get(
    "/",
    describe({
      summary: "List my notifications (page/limit; pagination.hasMore drives the apps' load more)",
      tags,
      response: ListResponse,
    }),
    auth,
    query(ListQuery),
    async (c) => {
      const q = c.req.valid("query");
      const { notifications, pagination, stats } = await listNotifications(c.get("db").http, principalOf(c).userId, q);
      return ok(c, { notifications, pagination, unreadCount: stats.unread });
    },
  )
  .get(
    "/unread-count",
    describe({
      summary: "Number of unread notifications",
      tags,
      response: z.object({ unreadCount: z.number().int() }),
    }),
    auth,
    async (c) => ok(c, { unreadCount: await unreadCount(c.get("db").http, principalOf(c).userId) }),
  )
  .get(
    "/history",
    describe({
      summary: "Notification history with filters and statistics",
      tags,
      response: HistoryResponse,
    }),
    auth,
    query(HistoryQuery),
    async (c) => {
      const q = c.req.valid("query");
      const { notifications, pagination, stats } = await listNotifications(c.get("db").http, principalOf(c).userId, q);
      return ok(c, {
        notifications,
        pagination,
        statistics: {
          total: stats.total,
          unread: stats.unread,
          booking_notifications: stats.booking,
          rating_notifications: stats.rating,
          report_notifications: stats.report,
          welcome_notifications: stats.welcome,
        },
      });
    },
  )
  .get(
    "/recent",
    describe({ summary: "Notifications created after `since` (epoch ms), at most 50", tags, response: RecentResponse }),
    auth,
    query(RecentQuery),
    async (c) => {
      const { since } = c.req.valid("query");
      const notifications = await recentNotifications(c.get("db").http, principalOf(c).userId, new Date(since));
      return ok(c, { notifications, count: notifications.length, since });
    },
  )
  .put(
    "/mark-all-read",
    describe({ summary: "Mark all my notifications read", tags, response: z.object({ updated: z.number().int() }) }),
    auth,
    async (c) => {
      const updated = await markAllRead(c.get("db").http, principalOf(c).userId);
      if (updated > 0) dispatchAfterCommit(c.env, c.executionCtx);
      return ok(c, { updated }, { message: "All notifications marked as read" });
    },
  )
  .put(
    "/:id/mark-read",
    describe({
      summary: "Mark one of my notifications read",
      tags,
      response: z.object({ id: z.uuid(), is_read: z.literal(true) }),
      responses: { 404: { description: "Not one of my notifications" } },
    }),
    auth,
    params(IdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const result = await markRead(c.get("db").http, principalOf(c).userId, id);
      if (result === "missing") throw notFound("Notification");
      if (result === "updated") dispatchAfterCommit(c.env, c.executionCtx);
      return ok(c, { id, is_read: true }, { message: "Notification marked as read" });
    },
  )
  .delete(
    "/:id",
    describe({
      summary: "Delete one of my notifications",
      tags,
      response: z.object({ id: z.uuid() }),
      responses: { 404: { description: "Not one of my notifications" } },
    }),
    auth,
    params(IdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await deleteNotification(c.get("db").http, principalOf(c).userId, id))) throw notFound("Notification");
      dispatchAfterCommit(c.env, c.executionCtx);
      return ok(c, { id }, { message: "Notification deleted" });
    },
  );
