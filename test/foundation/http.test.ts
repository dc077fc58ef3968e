import { describe, expect, it } from "vitest";
import { api } from "../harness";

describe("HTTP foundation: envelope, errors, headers", () => {
  it("GET /health answers 2xx without touching the database (the apps' connectivity probe)", async () => {
    const r = await api("GET", "/health");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/application\/json/);
    expect(r.body.status).toBe("healthy");
    expect(r.headers.get("x-db-round-trips")).toBe("0");
  });

  it("GET /health/ready reports the database ok without leaking internals", async () => {
    const r = await api("GET", "/health/ready");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "ready", checks: { database: { status: "ok" } } });
    expect(r.text).not.toMatch(/postgres:|127\.0\.0\.1|password/i);
  });

  it("unknown routes are 404 in the error envelope", async () => {
    const r = await api("GET", "/api/definitely-not-here");
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toMatch(/application\/json/);
    expect(r.body).toMatchObject({ status: "error", errorCode: "ROUTE_NOT_FOUND" });
    expect(typeof r.body.message).toBe("string");
  });

  it("echoes a well-formed X-Request-Id and mints one otherwise", async () => {
    const mine = await api("GET", "/health", { headers: { "x-request-id": "test-request-0001" } });
    expect(mine.headers.get("x-request-id")).toBe("test-request-0001");
    const hostile = await api("GET", "/health", { headers: { "x-request-id": "<script>" } });
    expect(hostile.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("sets security headers and answers CORS only for configured origins", async () => {
    const allowed = await api("GET", "/health", { headers: { origin: "http://localhost:8081" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:8081");
    expect(allowed.headers.get("x-content-type-options")).toBe("nosniff");
    const other = await api("GET", "/health", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // The mobile apps send no Origin at all and must pass.
    const app = await api("GET", "/health");
    expect(app.status).toBe(200);
  });

  it("serves an OpenAPI 3.1 document and a docs page", async () => {
    const doc = await api("GET", "/api/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(doc.body.paths["/health"].get).toBeDefined();
    const page = await api("GET", "/api/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.text).toContain("/api/openapi.json");
  });
});
