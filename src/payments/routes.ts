import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/payments: Paytm listing fees and labour access. */
export const paymentsRoutes = new Hono<AppEnv>();
