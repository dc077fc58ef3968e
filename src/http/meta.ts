import type { MiddlewareHandler } from "hono";
import type { ClientErrorStatusCode, ServerErrorStatusCode } from "hono/utils/http-status";
import type { ZodObject, ZodType, z } from "zod";
import type { Role } from "../db/schema";
import type { AppEnv } from "./context";

/**
 * A route's contract rides on its middleware: `describe()` (summary, tags, response schema),
 * `requireAuth(...roles)`, `signedByPaytm` and `signedLink` (who may call it), the validators of
 * src/http/validate.ts (request schemas). Each carries META, which one walk over `app.routes` merges into the
 * route table (the authorization matrix, the tests' response check) and src/http/openapi.ts turns into
 * /api/openapi.json. So a route declares each fact once, where it is enforced. This file is plain data:
 * the edge worker loads it with its routes, and the document's generator stays in the core.
 */
export const META = Symbol.for("buildxpert.route-meta");

export type Access = "public" | "authenticated" | Role | "signature";

export type ErrorStatus = ClientErrorStatusCode | ServerErrorStatusCode;

/** An answer that is not the JSON envelope: raw JSON (the health probe, the OpenAPI document) or another media type. */
export type OtherAnswer =
  | { json: ZodType; description: string }
  | {
      media: "text/html" | "text/plain" | "text/javascript" | "image/*";
      description: string;
      status?: number;
      /** Failures answered in the same media type (a page that says what went wrong), not the error envelope. */
      failures?: Partial<Record<ErrorStatus, string>>;
    }
  | { redirect: string };

export type RouteMeta = {
  summary?: string;
  tags?: string[];
  /** Who may call it; set by requireAuth / signedByPaytm / signedLink, never by describe(). Absent: public. */
  access?: Access[];
  /** For access "signature": which signature the handler checks (`x-signature` in the document). */
  signature?: string;
  request?: { json?: ZodType; query?: ZodType; param?: ZodType };
  /** The zod schema of `data` in the 2xx success envelope `{status:'success', message?, data}`. */
  response?: ZodType;
  /** Members some answers carry beside `data` at the top level (`ok(c, data, { extraTop })`). */
  extraTop?: ZodObject;
  /** Success statuses when not just 200 (a create answers 201; its idempotent retry 200). */
  status?: SuccessStatus[];
  /** Instead of the envelope. */
  other?: OtherAnswer;
  /** Errors worth naming beyond those every route may give; their body is the error envelope. */
  responses?: Partial<Record<ErrorStatus, { description: string }>>;
};

export type SuccessStatus = 200 | 201 | 202;

/**
 * The type a route's `ok(c, data)` must be given: describe() adds it to the handler chain's Env type
 * (a key Hono ignores; it only reads Bindings and Variables), so a handler that answers another shape
 * than its response schema does not compile (src/http/respond.ts).
 */
export type Contract<D = unknown, X = unknown> = { data: D; extraTop: X };
export type ContractEnv<D, X> = AppEnv & { Contract?: Contract<D, X> };
type Input<S> = [S] extends [ZodType] ? z.input<S> : unknown;

export type Describe<S extends ZodType | undefined, X extends ZodObject | undefined> = {
  summary: string;
  tags: string[];
  response?: S;
  extraTop?: X;
  status?: SuccessStatus[];
  other?: OtherAnswer;
  responses?: RouteMeta["responses"];
};

/**
 * A route's documentation and response contract; put it first in the handler chain. Access is not
 * declared here: requireAuth(...roles), signedByPaytm and signedLink carry it; a route without one is public.
 */
export function describe<S extends ZodType | undefined = undefined, X extends ZodObject | undefined = undefined>(
  d: Describe<S, X>,
): MiddlewareHandler<ContractEnv<Input<S>, Input<X>>> {
  const meta: RouteMeta = { ...d };
  const mw: MiddlewareHandler<ContractEnv<Input<S>, Input<X>>> = async (_c, next) => {
    await next();
  };
  return Object.assign(mw, { [META]: meta });
}

/** Metadata for a middleware that is not describe() (auth, signature checks, validators). */
export function withMeta<T extends object>(mw: T, meta: RouteMeta): T {
  return Object.assign(mw, { [META]: meta });
}

export function metaOf(handler: unknown): RouteMeta | undefined {
  return handler && typeof handler === "function" ? (handler as { [META]?: RouteMeta })[META] : undefined;
}
