import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { metricsRoutes } from "./admin/metrics-routes";
import { monitoringRoutes } from "./admin/monitoring-routes";
import { adminRoutes } from "./admin/routes";
import { authRoutes } from "./auth/routes";
import { benchRoutes } from "./bench/routes";
import { bookingsRoutes } from "./bookings/routes";
import { callsRoutes } from "./calls/routes";
import { publicRoutes } from "./catalogue/routes";
import { earningsRoutes } from "./earnings/routes";
import { health } from "./health/routes";
import type { AppEnv } from "./http/context";
import { describe } from "./http/meta";
import { limitBody, requestContext } from "./http/middleware";
import { notFoundHandler, onError } from "./http/on-error";
import { docsPage, openApiDocument } from "./http/openapi";
import { apiRateLimit } from "./http/rate-limit";
import { mediaRoutes } from "./media/routes";
import { pushRoutes } from "./notifications/push-routes";
import { notificationsRoutes } from "./notifications/routes";
import { paymentsRoutes } from "./payments/routes";
import { providersRoutes } from "./providers/routes";
import { socketRoutes } from "./realtime/routes";
import { refundsRoutes } from "./refunds/routes";
import { servicesRoutes } from "./services/routes";
import { usersRoutes } from "./users/routes";

/** Middleware order matters: ids and logging first, then headers, then body limits, then routes. */
export function buildApp() {
  const app = new Hono<AppEnv>();
  app.use("*", requestContext);
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  app.use(
    "*",
    cors({
      // The mobile apps send no Origin and pass untouched; browsers only from configured origins.
      origin: (origin, c) => (c.get("config").CORS_ORIGINS.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
      exposeHeaders: ["X-Request-Id", "Retry-After"],
      maxAge: 600,
    }),
  );
  app.use("*", apiRateLimit); // API_LIMITER per user/IP, after CORS so browsers can read the 429 (src/http/rate-limit.ts)
  app.use("*", limitBody);

  app.get("/", describe({ summary: "Service banner", access: "public", tags: ["health"] }), (c) => c.redirect("/api/docs"));
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

  app.get("/api/openapi.json", describe({ summary: "OpenAPI 3.1 document", tags: ["docs"], access: "public" }), (c) =>
    c.json(openApiDocument(app, { title: "BuildXpert", version: "1.0.0", serverUrl: c.get("config").PUBLIC_BASE_URL })),
  );
  app.get("/api/docs", describe({ summary: "Readable API documentation", tags: ["docs"], access: "public" }), (c) =>
    c.html(docsPage(openApiDocument(app, { title: "BuildXpert", version: "1.0.0" }))),
  );

  app.notFound(notFoundHandler);
  app.onError(onError);
  return app;
}
