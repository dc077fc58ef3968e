import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/notifications: in-app notifications. */
export const notificationsRoutes = new Hono<AppEnv>();
