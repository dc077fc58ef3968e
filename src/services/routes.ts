import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/services: provider service registration and my-registrations. */
export const servicesRoutes = new Hono<AppEnv>();
