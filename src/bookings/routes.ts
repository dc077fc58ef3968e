import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/bookings: the customer side of bookings, ratings and reports. */
export const bookingsRoutes = new Hono<AppEnv>();
