import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";

/**
 * Liveness and readiness. `/health` is the apps' connectivity probe (they read only response.ok),
 * so it never touches the database; `/health/ready` checks each dependency and says only ok/down
 * (503 with Retry-After when one is down, within the database deadline).
 */
const LiveSchema = z.object({ status: z.literal("healthy"), message: z.string(), timestamp: z.string(), environment: z.string() });
const ReadySchema = z.object({
  status: z.enum(["ready", "degraded"]),
  timestamp: z.string(),
  checks: z.record(z.string(), z.object({ status: z.enum(["ok", "down"]), latencyMs: z.number() })),
});

export const health = new Hono<AppEnv>()
  .get(
    "/",
    describe({
      summary: "Liveness probe (no database)",
      tags: ["health"],
      other: { json: LiveSchema, description: "Alive (no envelope: the apps read only response.ok)" },
    }),
    (c) =>
      // No envelope, as upstream: the apps only check response.ok.
      c.json({
        status: "healthy",
        message: "BuildXpert API is running",
        timestamp: new Date().toISOString(),
        environment: c.get("config").ENVIRONMENT,
      } satisfies z.input<typeof LiveSchema>),
  )
  .get(
    "/ready",
    describe({
      summary: "Readiness: per-dependency status",
      tags: ["health"],
      other: { json: ReadySchema, description: "Ready, or 503 with the same body when a dependency is down" },
    }),
    async (c) => {
      const started = Date.now();
      let database: "ok" | "down" = "ok";
      try {
        await c.get("db").http.execute(sql`select 1`);
      } catch (err) {
        database = "down";
        c.get("log").error("readiness: database down", { error: err instanceof Error ? err.message : String(err) });
      }
      const checks = { database: { status: database, latencyMs: Date.now() - started } };
      const ready = database === "ok";
      // The probe is bounded by the database deadline (DB_TIMEOUT_MS), so a stalled database reads "down", not a hang.
      if (!ready) c.header("Retry-After", "5");
      const body: z.input<typeof ReadySchema> = { status: ready ? "ready" : "degraded", timestamp: new Date().toISOString(), checks };
      return c.json(body, ready ? 200 : 503);
    },
  );
