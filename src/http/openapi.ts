import type { Hono } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import { type DescribeRouteOptions, generateSpecs, resolver, uniqueSymbol } from "hono-openapi";
import type { OpenAPIV3_1 } from "openapi-types";
import { type ZodObject, type ZodType, z } from "zod";
import type { AppEnv } from "./context";
import { type Access, metaOf, type RouteMeta } from "./meta";

/** One entry per (method, path) the app serves, merged from the metadata on its handler chain. */
export type RouteEntry = { method: string; path: string; meta: RouteMeta };

export function routeTable(app: Hono<AppEnv>): RouteEntry[] {
  const byKey = new Map<string, RouteEntry>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const key = `${r.method} ${r.path}`;
    const entry = byKey.get(key) ?? { method: r.method, path: r.path, meta: {} };
    const m = metaOf(r.handler);
    if (m) {
      entry.meta = {
        ...entry.meta,
        ...m,
        request: { ...entry.meta.request, ...m.request },
        access: m.access ?? entry.meta.access,
      };
    }
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

/** Who may call the route: what requireAuth, signedByPaytm or signedLink declared, else public. */
export function accessOf(entry: RouteEntry): Access[] {
  return entry.meta.access ?? ["public"];
}

/** The error envelope (src/http/envelope.ts), the body of every 4xx/5xx answer. */
const ErrorEnvelope = z.object({
  status: z.literal("error"),
  message: z.string(),
  errorCode: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  retryAfter: z.number().int().describe("seconds").optional(),
  requestId: z.string().optional(),
});

/** The success envelope around a route's `data` schema, with its top-level extras. */
function successEnvelope(data: ZodType, extraTop?: ZodObject) {
  const base = z.object({ status: z.literal("success"), message: z.string().optional(), data });
  return extraTop ? base.extend(extraTop.shape) : base;
}

const json = (schema: ZodType, description: string) => ({
  description,
  content: { "application/json": { schema: resolver(schema, { options: { io: "output" } }) } },
});

/** The error envelope's JSON Schema, once in the document (components.schemas.ErrorEnvelope). */
const { $schema: _, ...errorEnvelopeJson } = z.toJSONSchema(ErrorEnvelope, { target: "draft-2020-12", io: "output" });
const errorEnvelopeSchema = errorEnvelopeJson;

/** A plain object, not a resolver: hono-openapi clones the validation-error response. */
const errorResponse: OpenAPIV3_1.ResponseObject = {
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

/** What a requireAuth, signedByPaytm or signedLink marker adds to its operation. */
function accessSpec(meta: RouteMeta): Record<string, unknown> {
  const access = meta.access ?? [];
  if (access.includes("signature")) return { "x-access": access, "x-signature": meta.signature, security: [] };
  const roles = access.filter((a) => a !== "authenticated");
  return {
    security: [{ bearer: [] }],
    "x-access": access,
    responses: {
      401: { ...errorResponse, description: "No, invalid or expired bearer token, or a revoked session" },
      ...(roles.length ? { 403: { ...errorResponse, description: `Only for: ${roles.join(", ")}` } } : {}),
    },
  };
}

/**
 * hono-openapi reads its own symbol on each middleware; the routes carry only META (src/http/meta.ts
 * keeps hono-openapi out of the edge worker), so the generator's form is attached here, once.
 */
function markForGenerator(app: Hono<AppEnv>) {
  for (const r of app.routes) {
    const handler = findTargetHandler(r.handler) as { [uniqueSymbol]?: object };
    const meta = metaOf(handler);
    if (!meta || handler[uniqueSymbol]) continue;
    const [target, schema] = Object.entries(meta.request ?? {})[0] ?? [];
    if (target && schema) handler[uniqueSymbol] = { target, ...resolver(schema) };
    else if (meta.access) handler[uniqueSymbol] = { spec: accessSpec(meta) };
    else handler[uniqueSymbol] = { spec: openApiOf(meta) };
  }
}

export type OpenApiDocument = Awaited<ReturnType<typeof generateSpecs>>;

/**
 * OpenAPI 3.1 (JSON Schema 2020-12, which zod 4 emits natively), generated by hono-openapi from the
 * metadata describe(), requireAuth() and the validators put on each route's middleware.
 */
export function openApiDocument(app: Hono<AppEnv>, info: { title: string; version: string; serverUrl?: string }) {
  markForGenerator(app);
  return generateSpecs(app, {
    documentation: {
      info: {
        ...info,
        description:
          "Every JSON answer is an envelope: `{status:'success', message?, data}` on success, " +
          "`{status:'error', message, errorCode, errors?, retryAfter?}` on failure. `x-access` names who may call an operation.",
      },
      ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        schemas: { ErrorEnvelope: errorEnvelopeSchema as OpenAPIV3_1.SchemaObject },
      },
    },
    // /api/openapi.json is a route like any other, not a static file to leave out.
    excludeStaticFile: false,
    defaultValidationErrorResponse: { ...errorResponse, description: "VALIDATION_ERROR: `errors` names each field (400)" },
  });
}
