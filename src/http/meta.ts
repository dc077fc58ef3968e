import type { MiddlewareHandler } from "hono";
import type { ClientErrorStatusCode, ServerErrorStatusCode } from "hono/utils/http-status";
import { type DescribeRouteOptions, resolver, uniqueSymbol } from "hono-openapi";
import type { OpenAPIV3_1 } from "openapi-types";
import { type ZodObject, type ZodType, z } from "zod";
import type { Role } from "../db/schema";
import type { AppEnv } from "./context";

/**
 * A route's contract rides on its middleware: `describe()` (summary, tags, response schema),
 * `requireAuth(...roles)`, `signedByPaytm` and `signedLink` (who may call it), the validators of
 * src/http/validate.ts (request schemas). Each carries two symbols: META, which one walk over `app.routes` merges into the
 * route table (the authorization matrix, the tests' response check), and hono-openapi's, from which
 * `generateSpecs` builds /api/openapi.json. So a route declares each fact once, where it is enforced.
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

/** The error envelope (src/http/envelope.ts), the body of every 4xx/5xx answer. */
export const ErrorEnvelope = z.object({
  status: z.literal("error"),
  message: z.string(),
  errorCode: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  retryAfter: z.number().int().describe("seconds").optional(),
  requestId: z.string().optional(),
});

/** The success envelope around a route's `data` schema, with its top-level extras. */
export function successEnvelope(data: ZodType, extraTop?: ZodObject) {
  const base = z.object({ status: z.literal("success"), message: z.string().optional(), data });
  return extraTop ? base.extend(extraTop.shape) : base;
}

const json = (schema: ZodType, description: string) => ({
  description,
  content: { "application/json": { schema: resolver(schema, { options: { io: "output" } }) } },
});

/** The error envelope's JSON Schema, once in the document (components.schemas.ErrorEnvelope). */
const { $schema: _, ...errorEnvelopeJson } = z.toJSONSchema(ErrorEnvelope, { target: "draft-2020-12", io: "output" });
export const errorEnvelopeSchema = errorEnvelopeJson;

/** A plain object, not a resolver: hono-openapi clones the validation-error response. */
export const errorResponse: OpenAPIV3_1.ResponseObject = {
  description: "Error envelope",
  content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } },
};

function openApiOf(meta: RouteMeta): DescribeRouteOptions {
  const responses: NonNullable<DescribeRouteOptions["responses"]> = {};
  const o = meta.other;
  if (o && "json" in o) responses[200] = json(o.json, o.description);
  else if (o && "media" in o) {
    responses[o.status ?? 200] = { description: o.description, content: { [o.media]: {} } };
    for (const [code, description] of Object.entries(o.failures ?? {})) responses[code] = { description, content: { [o.media]: {} } };
  } else if (o && "redirect" in o)
    responses[302] = { description: `Redirect to ${o.redirect}`, headers: { Location: { schema: { type: "string" } } } };
  else if (meta.response) {
    const envelope = successEnvelope(meta.response, meta.extraTop);
    for (const s of meta.status ?? [200]) responses[s] = json(envelope, s === 201 ? "Created" : "Success envelope");
  }
  // Neither: no success is documented, and the contract test names the route.
  for (const [code, r] of Object.entries(meta.responses ?? {})) responses[code] = { ...errorResponse, description: r!.description };
  responses.default = errorResponse;
  return { summary: meta.summary, tags: meta.tags, responses };
}

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
  return Object.assign(mw, { [META]: meta, [uniqueSymbol]: { spec: openApiOf(meta) } });
}

/** Metadata for a middleware that is not describe() (auth, signature checks, validators). */
export function withMeta<T extends object>(mw: T, meta: RouteMeta, openapi?: object): T {
  return Object.assign(mw, { [META]: meta }, openapi ? { [uniqueSymbol]: openapi } : {});
}

export function metaOf(handler: unknown): RouteMeta | undefined {
  return handler && typeof handler === "function" ? (handler as { [META]?: RouteMeta })[META] : undefined;
}
