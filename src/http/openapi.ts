import type { Hono } from "hono";
import { z } from "zod";
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
        responses: { ...entry.meta.responses, ...m.responses },
        access: m.access ?? entry.meta.access,
      };
    }
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

export function accessOf(entry: RouteEntry): Access[] {
  const a = entry.meta.access ?? "public";
  return Array.isArray(a) ? a : [a];
}

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { target: "draft-2020-12", unrepresentable: "any", io: "input" });

const ErrorEnvelope = {
  type: "object",
  required: ["status", "message", "errorCode"],
  properties: {
    status: { const: "error" },
    message: { type: "string" },
    errorCode: { type: "string" },
    errors: { type: "array", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } },
    retryAfter: { type: "integer", description: "seconds" },
    requestId: { type: "string" },
  },
};

/** OpenAPI 3.1 (JSON Schema 2020-12, which zod 4 emits natively). */
export function openApiDocument(app: Hono<AppEnv>, info: { title: string; version: string; serverUrl?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, path, meta } of routeTable(app)) {
    const oaPath = path.replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, "{$1}");
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["path", meta.request?.param],
      ["query", meta.request?.query],
    ] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === "path" || (js.required ?? []).includes(name), schema: s });
      }
    }
    for (const m of path.matchAll(/:([A-Za-z_]+)/g)) {
      if (!parameters.some((p) => (p as { name: string }).name === m[1]))
        parameters.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
    }
    const access = meta.access ?? "public";
    const secured = !(access === "public" || access === "signature" || (Array.isArray(access) && access.includes("public")));
    const responses: Record<string, unknown> = {};
    for (const [code, r] of Object.entries(meta.responses ?? { 200: { description: "Success envelope" } })) {
      responses[code] = {
        description: r.description,
        ...(r.schema ? { content: { "application/json": { schema: jsonSchema(r.schema) } } } : {}),
      };
    }
    responses.default = { description: "Error envelope", content: { "application/json": { schema: ErrorEnvelope } } };
    paths[oaPath] ??= {};
    paths[oaPath][method.toLowerCase()] = {
      summary: meta.summary,
      tags: meta.tags,
      "x-access": access,
      ...(secured ? { security: [{ bearer: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(meta.request?.json
        ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(meta.request.json) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info,
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    paths,
  };
}

/** A self-contained docs page (no CDN: the docs must read offline too). */
export function docsPage(doc: ReturnType<typeof openApiDocument>): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, op] of Object.entries(ops)) {
      const o = op as { summary?: string; "x-access"?: unknown; requestBody?: unknown; parameters?: unknown[] };
      rows.push(
        `<details><summary><b>${method.toUpperCase()}</b> <code>${esc(path)}</code> — ${esc(o.summary ?? "")} <i>(${esc(JSON.stringify(o["x-access"]))})</i></summary><pre>${esc(
          JSON.stringify({ parameters: o.parameters, requestBody: o.requestBody }, null, 2),
        )}</pre></details>`,
      );
    }
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(doc.info.title)} API</title><style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}summary{cursor:pointer;padding:.3rem 0}pre{background:#f5f5f5;padding:.5rem;overflow:auto}</style></head><body><h1>${esc(
    doc.info.title,
  )} <small>${esc(doc.info.version)}</small></h1><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1). Envelope: <code>{status:'success', message?, data}</code> / <code>{status:'error', message, errorCode, errors?, retryAfter?}</code>.</p>${rows.join("\n")}</body></html>`;
}
