import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildEdgeApp } from "../../src/edge/app";
import { ConfigError, loadConfig, loadEdgeConfig } from "../../src/env";
import { PAYMENT_ORDER_LOCATION, paymentOrderStub } from "../../src/lib/durable-objects";
import { EDGE_FRESH_MS } from "../../src/listings/cache";
import edgeToml from "../../wrangler.edge.toml?raw";
import coreToml from "../../wrangler.toml?raw";
import { api, randomIp, randomPhone, seedUser } from "../harness";

/**
 * Two workers (docs/architecture.md): the edge worker answers what needs no database and forwards the
 * rest, unchanged, to the core worker through the CORE service binding. Here the edge app runs with a
 * CORE binding that records what reaches the core (and hands it to the real core unless a test answers
 * for it), so each test can see exactly which requests cross the edge↔core distance.
 */

type Seen = { method: string; url: string; headers: Headers; body: string };

function recordingCore(answer?: (req: Request) => Promise<Response>) {
  const seen: Seen[] = [];
  let respond = answer ?? ((req: Request) => env.CORE.fetch(req));
  const core = {
    async fetch(req: Request) {
      const body = new TextDecoder().decode(await req.clone().arrayBuffer());
      seen.push({ method: req.method, url: req.url, headers: new Headers(req.headers), body });
      return respond(req);
    },
  };
  return {
    core,
    seen,
    /** From now on the core is unreachable: any request that still goes there fails the test. */
    unreachable() {
      respond = () => Promise.reject(new Error("the core was called"));
    },
  };
}

const edge = buildEdgeApp();

async function viaEdge(
  core: { fetch(req: Request): Promise<Response> },
  path: string,
  init: RequestInit = {},
  vars: Record<string, string> = {},
) {
  const ctx = createExecutionContext();
  const res = await edge.fetch(new Request(`http://127.0.0.1${path}`, init), { ...env, ...vars, CORE: core } as unknown as Env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx); // the edge stores cache entries in waitUntil
  return { status: res.status, headers: res.headers, text };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("edge → core forwarding", () => {
  it("hands the core the request as the client sent it and returns the core's answer intact", async () => {
    const { core, seen } = recordingCore();
    const ip = randomIp();
    const credentials = JSON.stringify({ phone: randomPhone(), password: "wrong-Passw0rd" });
    const res = await viaEdge(core, "/api/auth/login?from=placement", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "cf-connecting-ip": ip,
        "x-request-id": "placement-req-0001",
        "user-agent": "okhttp/4.12",
      },
      body: credentials,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1/api/auth/login?from=placement", body: credentials });
    expect(seen[0]!.headers.get("cf-connecting-ip")).toBe(ip);
    expect(seen[0]!.headers.get("x-request-id")).toBe("placement-req-0001");
    expect(seen[0]!.headers.get("content-type")).toBe("application/json");
    expect(seen[0]!.headers.get("user-agent")).toBe("okhttp/4.12");
    // The core's answer: its status and envelope, its round-trip count, the same request id.
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ status: "error", errorCode: "INVALID_CREDENTIALS" });
    expect(Number(res.headers.get("x-db-round-trips"))).toBeGreaterThan(0);
    expect(res.headers.get("x-request-id")).toBe("placement-req-0001");
    // The edge's own headers are added on the way back.
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("gives the core the edge's request id when the client sent none (both workers log the same id)", async () => {
    const { core, seen } = recordingCore();
    const res = await viaEdge(core, "/health");
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[0]!.headers.get("x-request-id")).toBe(id);
  });

  it("passes status, Retry-After, redirects and bodies through untouched, and streams request bodies whole", async () => {
    const answers: Response[] = [
      new Response(JSON.stringify({ status: "error", message: "slow down", errorCode: "RATE_LIMITED", retryAfter: 30 }), {
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "30" },
      }),
      new Response(null, { status: 302, headers: { location: "https://app.example/after-payment" } }),
    ];
    const { core, seen } = recordingCore(async () => answers.shift()!);
    const limited = await viaEdge(core, "/api/payments/initiate-labour-payment", { method: "POST" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(JSON.parse(limited.text)).toMatchObject({ errorCode: "RATE_LIMITED", retryAfter: 30 });
    // Paytm's browser callback answers with a redirect the browser follows, not the edge.
    const chunks = ["ORDERID=ORDER_1&", "STATUS=TXN_SUCCESS&", "CHECKSUMHASH=abc"];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(new TextEncoder().encode(next));
        else controller.close();
      },
    });
    const redirected = await viaEdge(core, "/api/payments/paytm-callback", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: stream,
    });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("location")).toBe("https://app.example/after-payment");
    expect(seen[1]!.body).toBe("ORDERID=ORDER_1&STATUS=TXN_SUCCESS&CHECKSUMHASH=abc");
  });

  it("answers 503 with Retry-After when the core cannot be reached", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {}); // the edge logs the failure, as it should
    const { core, unreachable } = recordingCore();
    unreachable();
    const res = await viaEdge(core, "/api/bookings");
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({ status: "error", errorCode: "SERVICE_UNAVAILABLE" });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers at the edge what needs no database: preflights, Socket.IO protocol errors, missing media", async () => {
    const { core, seen } = recordingCore();
    const preflight = await viaEdge(core, "/api/bookings", {
      method: "OPTIONS",
      headers: { origin: "http://localhost:8081", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:8081");
    expect((await viaEdge(core, "/socket.io/?EIO=3&transport=polling")).status).toBe(400);
    expect((await viaEdge(core, `/media/profile-pictures/${crypto.randomUUID()}/${crypto.randomUUID()}.jpg`)).status).toBe(404);
    expect(seen).toHaveLength(0);
  });

  it("the suite's SELF is the edge: a repeated public read comes from the edge cache with no database round trip", async () => {
    const path = `/api/public/services?probe=${crypto.randomUUID()}`;
    await api("GET", path);
    await vi.waitFor(async () => expect((await api("GET", path)).headers.get("x-cache")).toBe("HIT"));
    const hit = await api("GET", path);
    expect(hit.headers.get("x-db-round-trips")).toBe("0");
  });
});

describe("public reads at the edge", () => {
  it("serves a stored answer without calling the core while fresh, then revalidates with the core in one cheap call", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const path = `/api/public/services?probe=${crypto.randomUUID()}`;
    const { core, seen, unreachable } = recordingCore();

    const miss = await viaEdge(core, path);
    expect(miss.status).toBe(200);
    expect(miss.headers.get("x-cache")).toBe("MISS");
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get("x-edge-if-generation")).toBeNull();
    // The cache protocol stays between the workers: the apps see the headers they always saw.
    expect([...miss.headers.keys()].filter((h) => h.startsWith("x-edge-") || h === "etag" || h === "cache-control")).toEqual([]);

    unreachable();
    const hit = await viaEdge(core, path);
    expect(hit.status).toBe(200);
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("content-type")).toMatch(/application\/json/);
    expect(hit.text).toBe(miss.text);
    expect(seen).toHaveLength(1);

    // Past the freshness window the edge asks the core whether its copy is still current.
    vi.setSystemTime(Date.now() + EDGE_FRESH_MS);
    const { core: live, seen: asked } = recordingCore();
    const revalidated = await viaEdge(live, path);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.headers.get("x-edge-if-generation")).toBe("catalogue");
    expect(revalidated.headers.get("x-cache")).toBe("REVALIDATED");
    expect(revalidated.text).toBe(miss.text);
    expect(revalidated.headers.get("x-db-round-trips")).toBe("0"); // the catalogue's generation is a constant
  });

  it("a write forwarded through the edge makes its next public reads check with the core", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const path = `/api/public/services?probe=${crypto.randomUUID()}`;
    const { core, seen } = recordingCore();
    await viaEdge(core, path);
    await viaEdge(core, path);
    expect(seen).toHaveLength(1);
    vi.setSystemTime(Date.now() + 1); // the write lands after the copy was confirmed
    await viaEdge(core, "/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": randomIp() },
      body: JSON.stringify({ phone: randomPhone(), password: "wrong-Passw0rd" }),
    });
    const after = await viaEdge(core, path);
    expect(seen.map((s) => s.method)).toEqual(["GET", "POST", "GET"]);
    expect(after.headers.get("x-cache")).toBe("REVALIDATED");
  });

  it("keeps the X-Edge-* cache protocol between the workers: a client's is dropped, the core's never reaches a client", async () => {
    const { core, seen } = recordingCore();
    const path = `/api/services?probe=${crypto.randomUUID()}`; // the catalogue's twin, cached the same way
    const forged = await viaEdge(core, path, { headers: { "x-edge-if-generation": "catalogue" } });
    expect(forged.status).toBe(200);
    expect(forged.headers.get("x-cache")).toBe("MISS");
    expect(JSON.parse(forged.text).data.services.length).toBeGreaterThan(0);
    expect(seen[0]!.headers.get("x-edge-if-generation")).toBeNull();
    const login = await viaEdge(core, "/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": randomIp(), "x-edge-generation": "1" },
      body: JSON.stringify({ phone: randomPhone(), password: "wrong-Passw0rd" }),
    });
    expect(login.status).toBe(401);
    expect(seen[1]!.headers.get("x-edge-generation")).toBeNull();
    for (const res of [forged, login, await viaEdge(core, path)])
      expect([...res.headers.keys()].filter((h) => h.startsWith("x-edge-"))).toEqual([]);
  });

  it("never stores errors or anything outside the public reads", async () => {
    const { core, seen } = recordingCore();
    const missing = `/api/public/services/${crypto.randomUUID()}/providers`;
    expect((await viaEdge(core, missing)).status).toBe(404);
    expect((await viaEdge(core, missing)).status).toBe(404);
    const user = await seedUser("user");
    const headers = { authorization: `Bearer ${user.token}` };
    expect((await viaEdge(core, "/api/users/profile", { headers })).status).toBe(200);
    expect((await viaEdge(core, "/api/users/profile", { headers })).status).toBe(200);
    expect(seen).toHaveLength(4);
  });
});

describe("latency model hook", () => {
  it("LATENCY_EDGE_CORE_MS holds the request that long before the core sees it, and the answer as long again", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const { core, seen } = recordingCore(async () => new Response("core answered"));
    let settled = false;
    const pending = viaEdge(core, "/health", {}, { LATENCY_EDGE_CORE_MS: "55" }).then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(54);
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(54);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).text).toBe("core answered");
  });

  it("is refused by both workers' configuration in production", () => {
    const production = {
      ...env,
      ENVIRONMENT: "production",
      SMS_DRIVER: "msg91",
      SMS_API_KEY: "key",
      NEON_LOCAL_PROXY: undefined,
      PAYTM_HOST: "https://secure.paytmpayments.com",
      PUBLIC_BASE_URL: "https://api.example.com",
      EXPO_PUSH_URL: "https://exp.host/--/api/v2/push/send",
      PASSWORD_SCRYPT_LOG_N: "14",
    };
    expect(() => loadConfig(production)).not.toThrow();
    expect(() => loadEdgeConfig(production)).not.toThrow();
    for (const load of [loadConfig, loadEdgeConfig]) {
      expect(() => load({ ...production, LATENCY_EDGE_CORE_MS: "55" })).toThrow(ConfigError);
      expect(() => load({ ...production, LATENCY_EDGE_CORE_MS: "0" })).toThrow(/LATENCY_EDGE_CORE_MS/);
    }
    expect(loadEdgeConfig({ ...env, ENVIRONMENT: "development", LATENCY_EDGE_CORE_MS: "55" }).LATENCY_EDGE_CORE_MS).toBe(55);
  });
});

describe("deployment shape", () => {
  const line = (toml: string, key: string) => new RegExp(`^${key}\\s*=\\s*(.+)$`, "m").exec(toml)?.[1]?.trim();

  it("the core is placed next to Neon and has no public route; the edge is not placed and binds the core", () => {
    expect(line(coreToml, "name")).toBe('"buildxpert-api"');
    expect(coreToml).toMatch(/^\[placement\]\s*\nregion\s*=\s*"aws:ap-southeast-1"/m);
    expect(line(coreToml, "workers_dev")).toBe("false");
    expect(line(coreToml, "preview_urls")).toBe("false");
    expect(coreToml).not.toMatch(/^(route|routes)\s*=|^\[\[?routes?\]\]?/m);
    expect(edgeToml).not.toMatch(/^\[placement\]/m);
    expect(edgeToml).toMatch(/\[\[services\]\]\s*\nbinding\s*=\s*"CORE"\s*\nservice\s*=\s*"buildxpert-api"/);
    expect(edgeToml).toMatch(/name\s*=\s*"REALTIME_SESSION"\s*\nclass_name\s*=\s*"RealtimeSession"\s*\nscript_name\s*=\s*"buildxpert-api"/);
    // Crons and queue consumers are the core's only.
    expect(edgeToml).not.toMatch(/^\[triggers\]|queues\.consumers/m);
  });

  it("creates PaymentOrder objects with the Asia-Pacific location hint", () => {
    const calls: unknown[] = [];
    const ns = {
      idFromName: (name: string) => `id:${name}`,
      get: (id: string, opts?: DurableObjectNamespaceGetDurableObjectOptions) => {
        calls.push({ id, opts });
        return {};
      },
    };
    paymentOrderStub({ PAYMENT_ORDER: ns } as unknown as Env, "ORDER_42");
    expect(PAYMENT_ORDER_LOCATION).toBe("apac");
    expect(calls).toEqual([{ id: "id:ORDER_42", opts: { locationHint: "apac" } }]);
  });
});
