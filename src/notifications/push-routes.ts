import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/push-notifications: Expo push tokens, settings, history. */
export const pushRoutes = new Hono<AppEnv>();
