/**
 * Roles × routes, generated from the app's own route table (the access metadata `requireAuth(...roles)`,
 * `signedByPaytm` and `signedLink` carry), so a route added tomorrow is in the matrix without anyone
 * editing this file. A route with none of them is public, so the public routes are listed here by
 * name: a route that forgets requireAuth fails the first test, and opening one to the world is a
 * reviewed change.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SCALAR_PATH } from "../../src/http/docs";
import { api, type Role, type SeededUser, seedUsers } from "../harness";
import { allowedRoles, fillPath, isOpen, type Route, retire, routes } from "./support";

const table = routes();
const AUTH_REJECTIONS = ["UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED", "FORBIDDEN"];

function call(r: Route, path: string, token?: string) {
  const withBody = r.method !== "GET" && r.method !== "HEAD" && r.meta.request?.json !== undefined;
  return api(r.method, path, { token, ...(withBody ? { body: {} } : {}) });
}

/** Every route anyone may call without a bearer token (the payment pages and Paytm's calls check a signature instead). */
const OPEN = [
  "GET /",
  "GET /health",
  "GET /health/ready",
  "GET /media/:kind/:owner/:name",
  "GET /media/:kind/:name",
  "GET /socket.io/__session/:sid",
  "POST /api/auth/signup",
  "POST /api/auth/verify-otp",
  "POST /api/auth/resend-otp",
  "POST /api/auth/login",
  "POST /api/auth/forgot-password",
  "POST /api/auth/forgot-password/verify",
  "POST /api/auth/forgot-password/reset",
  "POST /api/auth/refresh",
  "GET /api/public/services",
  "GET /api/public/services/:id/providers",
  "GET /api/public/services/:id/providers/:providerId",
  "GET /api/public/provider-service/:providerServiceId",
  "GET /api/public/featured-providers",
  "GET /api/public/reverse-geocode",
  "GET /api/services",
  "POST /api/payments/paytm-refund-webhook",
  "GET /api/payments/checkout/:orderId",
  "POST /api/payments/paytm-callback",
  "GET /api/payments/paytm-callback",
  "POST /api/payments/paytm-webhook",
  "GET /__bench/bare",
  "GET /__bench/db-http",
  "GET /__bench/db-pool",
  "GET /__scheduled",
  "GET /api/openapi.json",
  "GET /api/docs",
  `GET ${SCALAR_PATH}`,
];

describe("route table", () => {
  it("opens exactly the routes meant to be open; every other route requires a bearer token", () => {
    const open = table.filter(isOpen).map((r) => `${r.method} ${r.path}`);
    expect(
      [...open].sort(),
      "a route without requireAuth(...roles), signedByPaytm or signedLink is public: add one, or list it here if it is meant to be",
    ).toEqual([...OPEN].sort());
  });

  it("is the real table: it holds the routes of every capability", () => {
    const keys = new Set(table.map((r) => `${r.method} ${r.path}`));
    for (const k of [
      "POST /api/auth/login",
      "GET /api/bookings/:id",
      "GET /api/admin/stats",
      "POST /api/calls/initiate",
      "GET /api/notifications",
    ])
      expect(keys, k).toContain(k);
    expect(table.filter((r) => !isOpen(r)).length).toBeGreaterThan(40);
  });
});

describe.concurrent("authorization matrix", () => {
  const guarded = table.filter((x) => !isOpen(x));
  const ROLES: Role[] = ["user", "provider", "admin"];
  // Fresh accounts per route: an allowed call may log out, delete the account or revoke sessions.
  // Every route's three are created together, in two statements.
  let accounts: SeededUser[] = [];
  beforeAll(async () => {
    accounts = await seedUsers(guarded.flatMap(() => ROLES));
  });
  guarded.forEach((r, i) => {
    it(`${r.method} ${r.path} [${r.access.join(",")}]`, async () => {
      const mine = accounts.slice(3 * i, 3 * i + 3);
      const seeded = Object.fromEntries(mine.map((u) => [u.role, u])) as Record<Role, SeededUser>;
      try {
        await checkRoute(r, seeded);
      } finally {
        await retire(mine.map((u) => u.id));
      }
    });
  });
});

async function checkRoute(r: Route, seeded: Record<Role, { token: string }>) {
  const path = fillPath(r);

  const anon = await call(r, path);
  expect(anon.status, `no token → ${anon.status} ${anon.text.slice(0, 200)}`).toBe(401);
  expect(anon.body.status).toBe("error");

  const allowed = allowedRoles(r);
  for (const role of ["user", "provider", "admin"] as Role[]) {
    const res = await call(r, path, seeded[role].token);
    const what = `${role} → ${res.status} ${res.text.slice(0, 200)}`;
    expect(res.status, what).toBeLessThan(500);
    if (allowed.includes(role)) {
      expect([401, 403].includes(res.status) && AUTH_REJECTIONS.includes(res.body?.errorCode), what).toBe(false);
    } else {
      expect([403, 404], what).toContain(res.status);
    }
  }
}
