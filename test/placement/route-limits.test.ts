import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { buildEdgeApp } from "../../src/edge/app";
import { type DeclaredRoute, declaredOn, type RouteLimits } from "../../src/http/route-limits";

/**
 * Route limits (a larger body, an exemption from API_LIMITER) are declared on the routes
 * (src/http/route-limits.ts). The edge limits a request before it forwards it to the core, which
 * has the routes; so the edge must see every declaration the core's routes carry, at the same
 * method and path, or an upload the core accepts is refused at the edge (or a Paytm webhook throttled).
 */

type Marker = { at: string; declared: RouteLimits | DeclaredRoute };

function markers(app: { routes: { method: string; path: string; handler: unknown }[] }): Marker[] {
  return app.routes.flatMap((r) => {
    const declared = declaredOn(r.handler);
    return declared ? [{ at: `${r.method} ${r.path}`, declared }] : [];
  });
}

const core = markers(buildApp());
const edge = markers(buildEdgeApp());

describe("route limits", () => {
  it("are declared by the routes that need them", () => {
    expect(core.map((m) => m.at).sort()).toEqual([
      "ALL /socket.io",
      "ALL /socket.io/*",
      "GET /api/payments/checkout/:orderId",
      "GET /api/payments/paytm-callback",
      "POST /api/auth/signup",
      "POST /api/payments/paytm-callback",
      "POST /api/payments/paytm-refund-webhook",
      "POST /api/payments/paytm-webhook",
      "POST /api/services/:category/providers",
      "PUT /api/services/:category/providers",
      "PUT /api/users/profile",
    ]);
  });

  it("name the method and path their route is mounted at, when they name one", () => {
    for (const m of core) if ("path" in m.declared) expect(m.at).toBe(`${m.declared.method} ${m.declared.path}`);
  });

  it("reach the edge: the same declarations at the same methods and paths, and no others", () => {
    const missing = core.filter((c) => !edge.some((e) => e.at === c.at && e.declared === c.declared)).map((m) => m.at);
    const extra = edge.filter((e) => !core.some((c) => c.at === e.at && c.declared === e.declared)).map((m) => m.at);
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });
});
