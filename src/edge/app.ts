import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { SIGNUP } from "../auth/limits";
import type { AppEnv } from "../http/context";
import { errorHandler, notFoundHandler } from "../http/error-response";
import { apiRateLimit } from "../http/rate-limit";
import { type DeclaredRoute, limitBody, routeLimits } from "../http/route-limits";
import { edgeCachedRead } from "../listings/cache";
import { EDIT_LISTING, REGISTER_LISTING } from "../listings/limits";
import { mediaRoutes } from "../media/routes";
import { CHECKOUT_PAGE, PAYTM_CALLBACK, PAYTM_CALLBACK_AGAIN, PAYTM_REFUND_WEBHOOK, PAYTM_WEBHOOK } from "../payments/limits";
import { socketRoutes } from "../realtime/routes";
import { PROFILE_UPDATE } from "../users/limits";
import { type EdgeContext, type EdgeEnv, edgeContext } from "./context";
import { forwardToCore } from "./forward";

/**
 * Limits of the routes the edge forwards without having them (src/http/route-limits.ts): each is
 * declared by its capability and used by its route in the core; registered here at the same method
 * and path, it limits a request at the edge exactly as the core would. A route that declares limits
 * and is missing here fails test/placement/route-limits.test.ts.
 */
const FORWARDED_LIMITS: DeclaredRoute[] = [
  SIGNUP,
  PROFILE_UPDATE,
  REGISTER_LISTING,
  EDIT_LISTING,
  CHECKOUT_PAGE,
  PAYTM_CALLBACK,
  PAYTM_CALLBACK_AGAIN,
  PAYTM_WEBHOOK,
  PAYTM_REFUND_WEBHOOK,
];

/** The core's error envelope, without its database knowledge (the edge has no database). */
const onError = errorHandler();

/**
 * The edge worker's app (docs/architecture.md): it runs in the data center that received the request
 * and answers what needs no database there; everything else goes to the core worker, placed next to
 * Neon, through the CORE service binding. Middleware order as the API had it as one worker: ids and
 * logging, security headers, CORS, the global rate limit, body limits, then routes.
 *
 * Answered here: CORS preflights, rate-limit refusals, oversized bodies, Socket.IO (routed to the
 * session's Durable Object), media (R2), and fresh public reads from the edge cache. The core checks
 * everything it is sent as if it came from the internet (it verifies the bearer token itself).
 */
export function buildEdgeApp() {
  const app = new Hono<EdgeEnv>();
  app.use("*", edgeContext);
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
  app.use("*", limitBody); // the matched route's declared limit, else 64 KB (src/http/route-limits.ts)

  for (const r of FORWARDED_LIMITS) app.on(r.method, r.path, routeLimits(r));
  app.route("/socket.io", socketRoutes);
  app.route("/media", mediaRoutes);
  // The public reads: catalogue, provider lists and details, featured providers (and the catalogue's twin).
  const publicRead = (c: EdgeContext) =>
    c.req.method === "GET" ? edgeCachedRead(c.req.raw, c.executionCtx, (headers) => forwardToCore(c, headers)) : forwardToCore(c);
  app.get("/api/public/*", publicRead);
  app.get("/api/services", publicRead);
  app.all("*", (c) => forwardToCore(c));

  // The shared handlers read only the request id and the logger, which edgeContext sets first.
  const shared = (c: EdgeContext) => c as unknown as Context<AppEnv>;
  app.notFound((c) => notFoundHandler(shared(c)));
  app.onError((err, c) => onError(err, shared(c)));
  return app;
}
