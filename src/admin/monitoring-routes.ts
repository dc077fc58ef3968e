import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/monitoring: operational status and alerts for admins. */
export const monitoringRoutes = new Hono<AppEnv>();
