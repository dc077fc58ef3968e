import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/earnings: provider earnings. */
export const earningsRoutes = new Hono<AppEnv>();
