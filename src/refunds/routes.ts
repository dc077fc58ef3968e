import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/payments/refund*: refunds (mounted under /api/payments beside paymentsRoutes). */
export const refundsRoutes = new Hono<AppEnv>();
