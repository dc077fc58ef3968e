import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/admin: admin screens of the provider app. */
export const adminRoutes = new Hono<AppEnv>();
