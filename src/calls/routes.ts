import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/calls: masked call initiation and call logs. */
export const callsRoutes = new Hono<AppEnv>();
