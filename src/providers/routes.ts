import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/providers: provider profile and the provider side of bookings. */
export const providersRoutes = new Hono<AppEnv>();
