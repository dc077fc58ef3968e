import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/auth: signup, OTP, login, refresh, password reset, sessions. */
export const authRoutes = new Hono<AppEnv>();
