import type { MiddlewareHandler } from "hono";
import type { ZodType } from "zod";
import type { Role } from "../db/schema";

/**
 * Route metadata rides on middleware functions under a symbol, so one walk over `app.routes` yields
 * the OpenAPI document and the route table the authorization matrix test is generated from.
 */
export const META = Symbol.for("buildxpert.route-meta");

export type Access = "public" | "authenticated" | Role | "signature";

export type RouteMeta = {
  summary?: string;
  tags?: string[];
  access?: Access | Access[];
  request?: { json?: ZodType; query?: ZodType; param?: ZodType };
  responses?: Record<number, { description: string; schema?: ZodType }>;
  response?: ZodType;
};

/** Documentation for a route; put it first in the handler chain. */
export function describe(meta: RouteMeta): MiddlewareHandler {
  const mw: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  return Object.assign(mw, { [META]: meta });
}

export function metaOf(handler: unknown): RouteMeta | undefined {
  return handler && typeof handler === "function" ? (handler as { [META]?: RouteMeta })[META] : undefined;
}
