import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { matchedRoutes } from "hono/route";
import { AppError } from "./errors";

/**
 * What a route declares about the limits the workers apply before its handler runs: a larger body
 * than the default 64 KB, or an exemption from the per-caller API limit (src/http/rate-limit.ts).
 * The declaration sits in the route's handler chain (`routeLimits(...)`, after describe), and the
 * middleware reads it from the route the request matched, so nothing here knows a path.
 *
 * The edge worker forwards most routes without having them (docs/architecture.md), yet limits them
 * first; so a capability declares a forwarded route's limits as a `DeclaredRoute` (method and full
 * path) in its limits.ts, which its route uses and the edge registers at that path (src/edge/app.ts).
 * test/placement/route-limits.test.ts checks that both workers see the same declarations.
 */
export type BodyLimit = {
  maxBytes: number;
  /** Named in the 413 ("… limit for a profile photo"). */
  what: string;
};

export type RouteLimits = {
  /** Larger bodies than the default (e.g. base64 images). */
  body?: BodyLimit;
  /** Not counted by API_LIMITER: callers that are a few addresses sending for many users (Paytm's servers). */
  rateLimit?: "exempt";
};

/** Limits of a route the edge forwards, with the method and path (as the core mounts it) the edge matches it by. */
export type DeclaredRoute = { method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"; path: string; limits: RouteLimits };

const LIMITS = Symbol.for("buildxpert.route-limits");

type Marked = { [LIMITS]: RouteLimits | DeclaredRoute };

/** Declares a route's limits; put it in the route's handler chain. */
export function routeLimits(declared: RouteLimits | DeclaredRoute): MiddlewareHandler {
  const mw: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  return Object.assign(mw, { [LIMITS]: declared });
}

/** The declaration a handler carries, if it is a `routeLimits` marker (route tables and tests). */
export function declaredOn(handler: unknown): RouteLimits | DeclaredRoute | undefined {
  return typeof handler === "function" ? (handler as Partial<Marked>)[LIMITS] : undefined;
}

const limitsIn = (d: RouteLimits | DeclaredRoute): RouteLimits => ("limits" in d ? d.limits : d);

/** The limits the matched route declares; none for a route that declares nothing (or no route). */
export function limitsOf(c: Context): RouteLimits {
  for (const r of matchedRoutes(c)) {
    const d = declaredOn(r.handler);
    if (d) return limitsIn(d);
  }
  return {};
}

/** The default body limit: JSON bodies of the apps are a few KB. */
export const DEFAULT_BODY_BYTES = 64 * 1024;

const MiB = 1024 * 1024;
/** "8 MB", "64 KB" (binary multiples), "1 MB" for 1,000,000: how the limit is named in the 413 message. */
export const sizeLabel = (bytes: number) =>
  bytes % MiB === 0 ? `${bytes / MiB} MB` : bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${Math.round(bytes / 1e5) / 10} MB`;

const limit = (maxSize: number, what?: string) =>
  bodyLimit({
    maxSize,
    onError: (c) => {
      // Refused unread: cancel the upload, so the runtime does not report the abandoned stream.
      if (c.req.raw.body && !c.req.raw.body.locked) c.req.raw.body.cancel().catch(() => undefined);
      throw new AppError("PAYLOAD_TOO_LARGE", `Request body is larger than the ${sizeLabel(maxSize)} limit${what ? ` for ${what}` : ""}`);
    },
  });
const defaultBody = limit(DEFAULT_BODY_BYTES);
const declaredBodies = new WeakMap<BodyLimit, MiddlewareHandler>();

/**
 * Body limits, before any handler reads the body: the matched route's declared limit, else 64 KB.
 * The 413 names the limit that applied. Both workers run it (the edge first, so an oversized upload
 * is refused before it travels to the core).
 */
export const limitBody: MiddlewareHandler = (c, next) => {
  const declared = limitsOf(c).body;
  if (!declared) return defaultBody(c, next);
  let check = declaredBodies.get(declared);
  if (!check) {
    check = limit(declared.maxBytes, declared.what);
    declaredBodies.set(declared, check);
  }
  return check(c, next);
};
