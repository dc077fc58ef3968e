/**
 * The API contract: every route declares its answer (describe({ response }) or a non-envelope
 * answer), /api/openapi.json carries it with the request schemas, access and the error envelope, the
 * harness's response check refuses a wrong shape, and /api/docs renders it without any CDN.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildApp } from "../../src/app";
import { requireAuth, signedByPaytm, signedLink } from "../../src/http/auth";
import type { AppEnv } from "../../src/http/context";
import { SCALAR_PATH } from "../../src/http/docs";
import { describe as doc } from "../../src/http/meta";
import { accessOf, openApiDocument, routeTable } from "../../src/http/openapi";
import { ok } from "../../src/http/respond";
import { contractChecker, type OpenApiDoc } from "../contract-check";
import { api, assertContract, seedUser } from "../harness";

const table = routeTable(buildApp());
const oaPath = (p: string) => p.replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, "{$1}");
const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

// biome-ignore lint/suspicious/noExplicitAny: the test walks the document's JSON
type Json = any;

async function document(): Promise<OpenApiDoc & { paths: Record<string, Record<string, Json>>; components: Json }> {
  const res = await api("GET", "/api/openapi.json");
  expect(res.status).toBe(200);
  return res.body;
}

describe("every route declares its answer", () => {
  it("has a response schema or a declared non-envelope answer", () => {
    const missing = table.filter((r) => !r.meta.response && !r.meta.other).map(key);
    expect(missing, `routes without describe({ response }) or describe({ other }): ${missing.join(", ")}`).toEqual([]);
  });
});

describe("the response schema types the handler (checked by tsc: an unused @ts-expect-error fails it)", () => {
  it("ok() takes the schema's shape and its declared top-level extras, nothing else", async () => {
    const Counted = z.object({ n: z.number().int(), label: z.string().nullable() });
    const app = new Hono<AppEnv>()
      .get("/right", doc({ summary: "right", tags: ["t"], response: Counted }), (c) => ok(c, { n: 1, label: null }))
      // @ts-expect-error: a string where the schema says number
      .get("/wrong-type", doc({ summary: "wrong", tags: ["t"], response: Counted }), (c) => ok(c, { n: "1", label: null }))
      // @ts-expect-error: a field the schema requires is missing
      .get("/missing", doc({ summary: "missing", tags: ["t"], response: Counted }), (c) => ok(c, { n: 1 }))
      // @ts-expect-error: a top-level extra that describe() did not declare
      .get("/extra", doc({ summary: "extra", tags: ["t"], response: Counted }), (c) => ok(c, { n: 1, label: "" }, { extraTop: { x: 1 } }))
      .get("/declared-extra", doc({ summary: "extra", tags: ["t"], response: Counted, extraTop: z.object({ x: z.number() }) }), (c) =>
        ok(c, { n: 1, label: "" }, { extraTop: { x: 1 } }),
      );
    const res = await app.request("/right");
    expect(await res.json()).toEqual({ status: "success", data: { n: 1, label: null } });
  });
});

describe("/api/openapi.json", () => {
  it("carries every route's success body in the envelope, and the error envelope", async () => {
    const doc = await document();
    for (const r of table) {
      const op = doc.paths[oaPath(r.path)]?.[r.method.toLowerCase()];
      expect(op, `${key(r)} is in the document`).toBeDefined();
      expect(op.responses.default?.content?.["application/json"]?.schema, `${key(r)} error envelope`).toEqual({
        $ref: "#/components/schemas/ErrorEnvelope",
      });
      const ok = Object.entries(op.responses as Record<string, Json>).filter(([s]) => /^[23]\d\d$/.test(s));
      expect(ok.length, `${key(r)} documents a success`).toBeGreaterThan(0);
      if (r.meta.other) continue;
      for (const [status, res] of ok) {
        const schema = res.content?.["application/json"]?.schema;
        expect(schema?.properties?.status, `${key(r)} ${status}`).toEqual({ type: "string", const: "success" });
        expect(schema.required, `${key(r)} ${status}: status and data are required`).toEqual(expect.arrayContaining(["status", "data"]));
        expect(schema.properties.data, `${key(r)} ${status}: data has a schema`).not.toEqual({});
      }
    }
    expect(doc.components.schemas.ErrorEnvelope.required).toEqual(["status", "message", "errorCode"]);
  });

  it("documents the WebView's pages as HTML, their failures too, and the checkout's top-level members", async () => {
    const doc = await document();
    const media = (op: Json, status: string) => Object.keys(op.responses[status]?.content ?? {});
    const page = doc.paths["/api/payments/checkout/{orderId}"]!.get;
    for (const s of ["200", "403", "404", "410", "503"]) expect(media(page, s), `checkout page ${s}`).toEqual(["text/html"]);
    for (const method of ["get", "post"]) {
      const callback = doc.paths["/api/payments/paytm-callback"]![method];
      for (const s of ["200", "400", "401"]) expect(media(callback, s), `${method} paytm-callback ${s}`).toEqual(["text/html"]);
    }
    const checkout = doc.paths["/api/payments/initiate-paytm"]!.post.responses["200"].content["application/json"].schema;
    expect(checkout.required).toEqual(expect.arrayContaining(["status", "data", "orderId", "paytmUrl"]));
    expect(checkout.properties.existingOrderId).toBeDefined();
  });

  it("documents request bodies, query and path parameters from the validators", async () => {
    const doc = await document();
    const login = doc.paths["/api/auth/login"]!.post;
    expect(login.requestBody.content["application/json"].schema.required).toEqual(expect.arrayContaining(["phone", "password"]));
    expect(login.responses["400"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ErrorEnvelope" });
    const list = doc.paths["/api/bookings"]!.get;
    expect(list.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(["query:status", "query:page", "query:limit"]),
    );
    const one = doc.paths["/api/bookings/{id}"]!.get;
    expect(one.parameters).toContainEqual(expect.objectContaining({ in: "path", name: "id", required: true }));
  });

  it("says who may call each operation: requireAuth's roles, Paytm's signature, else public", async () => {
    const doc = await document();
    for (const r of table) {
      const op = doc.paths[oaPath(r.path)]![r.method.toLowerCase()];
      const access = accessOf(r);
      const bearer = !access.includes("public") && !access.includes("signature");
      expect(op.security ?? [], key(r)).toEqual(bearer ? [{ bearer: [] }] : []);
      if (bearer) expect(op["x-access"], key(r)).toEqual(access);
    }
    expect(doc.paths["/api/admin/stats"]!.get["x-access"]).toEqual(["admin"]);
    expect(doc.paths["/api/auth/me"]!.get["x-access"]).toEqual(["authenticated"]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });
});

describe("access is declared by the middleware that enforces it", () => {
  it("requireAuth(...roles), signedByPaytm and signedLink carry it to the route table and the document; nothing else is public", async () => {
    const app = new Hono<AppEnv>()
      .post("/paytm", doc({ summary: "Paytm calls", tags: ["t"], response: z.null() }), signedByPaytm, (c) => ok(c, null))
      .get("/link", doc({ summary: "a signed link", tags: ["t"], response: z.null() }), signedLink, (c) => ok(c, null))
      .get("/mine", doc({ summary: "mine", tags: ["t"], response: z.null() }), requireAuth("user", "provider"), (c) => ok(c, null))
      .get("/open", doc({ summary: "open", tags: ["t"], response: z.null() }), (c) => ok(c, null));
    const access = Object.fromEntries(routeTable(app).map((r) => [key(r), accessOf(r)]));
    expect(access).toEqual({
      "POST /paytm": ["signature"],
      "GET /link": ["signature"],
      "GET /mine": ["user", "provider"],
      "GET /open": ["public"],
    });
    const paths = (await openApiDocument(app, { title: "t", version: "0" })).paths as Record<string, Record<string, Json>>;
    expect(paths["/paytm"]!.post).toMatchObject({
      "x-access": ["signature"],
      security: [],
      "x-signature": expect.stringContaining("Paytm"),
    });
    expect(paths["/link"]!.get).toMatchObject({ "x-access": ["signature"], security: [], "x-signature": expect.stringContaining("sig") });
    expect(paths["/mine"]!.get).toMatchObject({ "x-access": ["user", "provider"], security: [{ bearer: [] }] });
    expect(paths["/mine"]!.get.responses["403"].description).toBe("Only for: user, provider");
    expect(paths["/open"]!.get.security).toBeUndefined();
  });
});

describe("the harness's response check", () => {
  it("passes a real answer and refuses a wrong shape, naming route, path and the first mismatch", async () => {
    const u = await seedUser("user");
    const real = await api("GET", "/api/notifications/unread-count", { token: u.token }); // checked by api() itself
    expect(real.body.data).toEqual({ unreadCount: expect.any(Number) });
    const answer = (body: unknown, status = 200) => ({
      method: "GET",
      path: "/api/notifications/unread-count?x=1",
      status,
      contentType: "application/json; charset=UTF-8",
      body,
    });
    await expect(assertContract(answer(real.body))).resolves.toBeUndefined();

    const wrongType = assertContract(answer({ status: "success", data: { unreadCount: "3" } }));
    await expect(wrongType).rejects.toThrow("GET /api/notifications/unread-count (GET /api/notifications/unread-count?x=1) answered 200");
    await expect(assertContract(answer({ status: "success", data: { unreadCount: "3" } }))).rejects.toThrow(/data\.unreadCount: /);
    // A field the schema does not name is a mismatch: the schema is the one place the shape is mapped.
    await expect(assertContract(answer({ status: "success", data: { unreadCount: 3, unread: 3 } }))).rejects.toThrow(/"unread"/);
    await expect(assertContract(answer({ status: "success" }))).rejects.toThrow(/data/);
    await expect(assertContract(answer({ status: "ok", data: { unreadCount: 3 } }))).rejects.toThrow(/status/);
    await expect(assertContract(answer(real.body, 201))).rejects.toThrow(/status 201 is not documented/);
    await expect(assertContract({ ...answer(real.body), path: "/api/nowhere" })).rejects.toThrow(/no documented operation/);
    // Errors and non-JSON answers are not success bodies.
    await expect(assertContract(answer({ anything: true }, 404))).resolves.toBeUndefined();
    await expect(assertContract({ ...answer("<html>"), contentType: "text/html" })).resolves.toBeUndefined();
  });

  it("picks the static route over a parameter route, as the router does", async () => {
    const doc = await document();
    const check = contractChecker(doc);
    const body = { status: "success", data: { unreadCount: 2 } };
    const at = (path: string) => check({ method: "GET", path, status: 200, contentType: "application/json", body });
    expect(at("/api/bookings/unread-count")).toBeNull();
    expect(at("/api/bookings/7c0c7c38-5a43-4f6e-9a55-5a1c2b0f7a11")?.route).toBe("GET /api/bookings/{id}");
  });
});

describe("/api/docs", () => {
  it("is Scalar's reference over our document, with its script served by the worker (no CDN)", async () => {
    const page = await api("GET", "/api/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.text).toContain(`<script src="${SCALAR_PATH}"></script>`);
    expect(page.text).toContain('"url":"/api/openapi.json"');
    expect(page.text).not.toMatch(/<script[^>]+src="(https?:)?\/\//);
    expect(page.text).toContain('"withDefaultFonts":false');
    expect(page.text).toContain('"proxyUrl":""');

    const script = await api("GET", SCALAR_PATH);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(script.headers.get("cache-control")).toContain("max-age");
    expect(script.text.length).toBeGreaterThan(1_000_000);
    expect(script.text).toContain("createApiReference");
  });
});
