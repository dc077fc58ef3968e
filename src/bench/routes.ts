import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context";
import { AppError } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";

const Count = z.object({ n: z.number().int() });

/**
 * Routes that exist only for `npm run bench`, which runs `wrangler dev` with ENVIRONMENT=development
 * (404 in every other environment): the bare ceiling and one read over each database driver mode, so
 * the cost of the WebSocket Pool path is measured, not assumed.
 */
export const benchRoutes = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    if (c.get("config").ENVIRONMENT !== "development") throw new AppError("ROUTE_NOT_FOUND", "Not found");
    await next();
  })
  // Public by design (never served in production).
  .get(
    "/bare",
    describe({ summary: "Bench: bare route (local ceiling)", tags: ["bench"], response: z.object({ ok: z.literal(true) }) }),
    (c) => ok(c, { ok: true }),
  )
  .get("/db-http", describe({ summary: "Bench: one read over SQL-over-HTTP", tags: ["bench"], response: Count }), async (c) => {
    const rows = await c.get("db").http.execute<{ n: number }>(sql`select count(*)::int as n from pg_catalog.pg_class`);
    return ok(c, rows.rows[0]!);
  })
  .get("/db-pool", describe({ summary: "Bench: one read over the WebSocket Pool", tags: ["bench"], response: Count }), async (c) => {
    const rows = await c.get("db").transaction((tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from pg_catalog.pg_class`));
    return ok(c, rows.rows[0]!);
  });
