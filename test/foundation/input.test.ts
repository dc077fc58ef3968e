import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildApp } from "../../src/app";
import { ConfigError, loadConfig } from "../../src/env";
import { describe as doc } from "../../src/http/meta";
import { body, params } from "../../src/http/validate";

/**
 * Bad input is always a 4xx in the apps' envelope, never a 500 (upstream answered 500 for a
 * malformed UUID). Exercised on the real middleware stack with a probe route added for the test.
 */
const app = buildApp();
app.post(
  "/__probe/:id",
  doc({ summary: "probe", tags: ["test"] }),
  params(z.object({ id: z.uuid() })),
  body(z.object({ name: z.string().min(1), password: z.string().min(8) })),
  (c) => c.json({ status: "success", data: { id: c.req.valid("param").id } }),
);
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
const call = async (path: string, init: RequestInit) => {
  const res = await app.fetch(new Request(`http://x${path}`, init), env, ctx);
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as Record<string, unknown> };
};
const ID = "7c0c7c38-5a43-4f6e-9a55-5a1c2b0f7a11";

describe("bad input answers 4xx in the envelope", () => {
  it("accepts a well-formed request (the probe itself works)", async () => {
    const r = await call(`/__probe/${ID}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "a", password: "longenough" }),
    });
    expect(r.status).toBe(200);
  });

  it("malformed JSON → 400 INVALID_JSON", async () => {
    const r = await call(`/__probe/${ID}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name": "a",' });
    expect(r).toMatchObject({ status: 400, body: { status: "error", errorCode: "INVALID_JSON" } });
    expect(r.type).toMatch(/application\/json/);
  });

  it("wrong content type → 415", async () => {
    const r = await call(`/__probe/${ID}`, { method: "POST", headers: { "content-type": "text/plain" }, body: "name=a" });
    expect(r).toMatchObject({ status: 415, body: { status: "error", errorCode: "UNSUPPORTED_MEDIA_TYPE" } });
  });

  it("oversized body → 413", async () => {
    const big = JSON.stringify({ name: "x".repeat(200 * 1024), password: "longenough" });
    const r = await call(`/__probe/${ID}`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(r).toMatchObject({ status: 413, body: { status: "error", errorCode: "PAYLOAD_TOO_LARGE" } });
  });

  it("invalid UUID in the path → 400, not 500", async () => {
    const r = await call("/__probe/not-a-uuid", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "a", password: "longenough" }),
    });
    expect(r).toMatchObject({ status: 400, body: { status: "error", errorCode: "VALIDATION_ERROR" } });
    expect((r.body.errors as { field: string }[])[0]?.field).toBe("id");
  });

  it("validation errors name the field but never echo the submitted password", async () => {
    const r = await call(`/__probe/${ID}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "", password: "short7!" }),
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).not.toContain("short7!");
    expect((r.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(["name", "password"]);
  });
});

describe("configuration fails loudly", () => {
  const base = { ...env } as unknown as Record<string, unknown>;

  it("names every missing or invalid key, never its value", () => {
    const bad = { ...base, JWT_SECRET: "short-secret-value", PAYTM_MERCHANT_KEY: "x" };
    expect(() => loadConfig(bad)).toThrow(ConfigError);
    try {
      loadConfig(bad);
    } catch (err) {
      expect((err as Error).message).toMatch(/JWT_SECRET/);
      expect((err as Error).message).toMatch(/PAYTM_MERCHANT_KEY/);
      expect((err as Error).message).not.toContain("short-secret-value");
    }
  });

  it("production refuses the development-only switches", () => {
    const prod = { ...base, ENVIRONMENT: "production" };
    expect(() => loadConfig(prod)).toThrow(/NEON_LOCAL_PROXY[\s\S]*SMS_DRIVER|SMS_DRIVER[\s\S]*NEON_LOCAL_PROXY/);
    expect(() => loadConfig(prod)).toThrow(/PAYTM_HOST/);
    expect(() => loadConfig(prod)).toThrow(/PASSWORD_SCRYPT_LOG_N/);
  });

  it("a misconfigured deployment answers 503 in the envelope instead of crashing", async () => {
    const broken = { ...base, JWT_SECRET: "" };
    const res = await app.fetch(new Request("http://x/health"), broken as unknown as Env, ctx);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "error", errorCode: "SERVICE_UNAVAILABLE" });
  });
});
