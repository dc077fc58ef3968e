import { Hono } from "hono";
import { z } from "zod";
import { metricsRoutes } from "./admin/metrics-routes";
import { monitoringRoutes } from "./admin/monitoring-routes";
import { adminRoutes } from "./admin/routes";
import { authRoutes } from "./auth/routes";
import { benchRoutes } from "./bench/routes";
import { bookingsRoutes } from "./bookings/routes";
import { callsRoutes } from "./calls/routes";
import { earningsRoutes } from "./earnings/routes";
import { health } from "./health/routes";
import type { AppEnv } from "./http/context";
import { docsPage, SCALAR_PATH, scalarBundle } from "./http/docs";
import { AppError } from "./http/errors";
import { describe } from "./http/meta";
import { requestContext } from "./http/middleware";
import { notFoundHandler, onError } from "./http/on-error";
import { type OpenApiDocument, openApiDocument } from "./http/openapi";
import { limitBody } from "./http/route-limits";
import { handleScheduled } from "./jobs/cron";
import { publicRoutes } from "./listings/public-routes";
import { servicesRoutes } from "./listings/routes";
import { mediaRoutes } from "./media/routes";
import { pushRoutes } from "./notifications/push-routes";
import { notificationsRoutes } from "./notifications/routes";
import { paymentsRoutes } from "./payments/routes";
import { providersRoutes } from "./providers/routes";
import { socketRoutes } from "./realtime/routes";
import { refundsRoutes } from "./refunds/routes";
import { usersRoutes } from "./users/routes";

/**
 * The core worker's app: every route of the API. It is reached only through the edge worker
 * (src/edge/app.ts), which has already applied security headers, CORS and the global rate limit, and
 * answers /socket.io, /media and fresh public reads itself; those routes are mounted here too, so this
 * app is the one route table (OpenAPI document, authorization matrix). Middleware order: ids, config,
 * logging and the database handle first, then body limits, then routes.
 */
export function buildApp() {
  const app = new Hono<AppEnv>();
  app.use("*", requestContext);
  app.use("*", limitBody);

  app.get("/", describe({ summary: "Service banner", tags: ["health"], other: { redirect: "/api/docs" } }), (c) => c.redirect("/api/docs"));
  app.route("/health", health);
  app.route("/media", mediaRoutes);
  app.route("/socket.io", socketRoutes);
  app.route("/api/auth", authRoutes);
  app.route("/api/users", usersRoutes);
  app.route("/api/push-notifications", pushRoutes);
  app.route("/api/public", publicRoutes);
  app.route("/api/services", servicesRoutes);
  app.route("/api/providers", providersRoutes);
  app.route("/api/bookings", bookingsRoutes);
  app.route("/api/notifications", notificationsRoutes);
  app.route("/api/earnings", earningsRoutes);
  app.route("/api/admin", adminRoutes);
  app.route("/api/monitoring", monitoringRoutes);
  app.route("/api/monitoring", metricsRoutes);
  app.route("/api/payments", refundsRoutes);
  app.route("/api/payments", paymentsRoutes);
  app.route("/api/calls", callsRoutes);
  app.route("/__bench", benchRoutes); // local ceiling and driver-mode reads for `npm run bench` (404 in production)
  // Development only: a cron's tasks on demand (`npm run dev` fires them on schedule, the end-to-end run
  // drives the refund poll). wrangler's own /__scheduled reaches only its first worker, the edge.
  const ranCron = { media: "text/plain", description: "Ran scheduled event" } as const;
  app.get("/__scheduled", describe({ summary: "Run a cron's tasks (development only)", tags: ["jobs"], other: ranCron }), async (c) => {
    if (c.get("config").ENVIRONMENT !== "development") throw new AppError("ROUTE_NOT_FOUND", "Not found");
    const controller = { cron: c.req.query("cron") ?? "", scheduledTime: Date.now(), noRetry() {} };
    // The runtime's context; Hono's type of it lists fewer members.
    await handleScheduled(controller, c.env, c.executionCtx as unknown as ExecutionContext);
    return c.text("Ran scheduled event");
  });

  // The document depends only on the route table: built once per isolate.
  let doc: Promise<OpenApiDocument> | undefined;
  const document = (serverUrl?: string) => {
    doc ??= openApiDocument(app, { title: "BuildXpert", version: "1.0.0", serverUrl });
    return doc;
  };
  const openApi = { json: z.looseObject({ openapi: z.literal("3.1.0") }), description: "OpenAPI 3.1 document" };
  app.get("/api/openapi.json", describe({ summary: "OpenAPI 3.1 document", tags: ["docs"], other: openApi }), async (c) =>
    c.json(await document(c.get("config").PUBLIC_BASE_URL)),
  );
  const page = { media: "text/html", description: "API reference (Scalar)" } as const;
  app.get("/api/docs", describe({ summary: "API reference", tags: ["docs"], other: page }), (c) => c.html(docsPage("/api/openapi.json")));
  const script = { media: "text/javascript", description: "Scalar's API reference bundle" } as const;
  app.get(SCALAR_PATH, describe({ summary: "The API reference page's script", tags: ["docs"], other: script }), (c) => {
    c.header("cache-control", "public, max-age=86400");
    return c.body(scalarBundle, 200, { "content-type": "text/javascript; charset=utf-8" });
  });

  app.notFound(notFoundHandler);
  app.onError(onError);
  return app;
}
