import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /api/public: catalogue, provider listings, featured providers, reverse geocode. */
export const publicRoutes = new Hono<AppEnv>();
