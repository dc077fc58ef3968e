import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/users: profile, addresses, account deletion. */
export const usersRoutes = new Hono<AppEnv>();
