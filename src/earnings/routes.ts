import { Hono } from "hono";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { EarningsData } from "./schemas";
import { providerEarnings } from "./service";

/** /api/earnings: provider earnings from customer bookings (./service.ts). */
export const earningsRoutes = new Hono<AppEnv>();

earningsRoutes.get(
  "/",
  describe({ summary: "My earnings: today, this month, pending", tags: ["earnings"], response: EarningsData }),
  requireAuth("provider"),
  async (c) => ok(c, await providerEarnings(c.get("db").http, principalOf(c).userId)),
);
