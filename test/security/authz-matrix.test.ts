/**
 * Roles × routes, generated from the app's own route table (the metadata `describe({access})` and
 * `requireAuth(...roles)` attach), so a route added tomorrow is in the matrix without anyone editing
 * this file, and a route registered without access metadata fails the first test by name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, type Role, type SeededUser, seedUsers } from "../harness";
import { allowedRoles, fillPath, isOpen, type Route, retire, routes } from "./support";

const table = routes();
const AUTH_REJECTIONS = ["UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED", "FORBIDDEN"];

function call(r: Route, path: string, token?: string) {
  const withBody = r.method !== "GET" && r.method !== "HEAD" && r.meta.request?.json !== undefined;
  return api(r.method, path, { token, ...(withBody ? { body: {} } : {}) });
}

describe("route table", () => {
  it("every route declares who may call it", () => {
    const offenders = table.filter((r) => !r.declared).map((r) => `${r.method} ${r.path}`);
    expect(
      offenders,
      `routes without access metadata — add requireAuth(...roles) or describe({ access: "public" | "signature" }): ${offenders.join(", ")}`,
    ).toEqual([]);
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
  const guarded = table.filter((x) => x.declared && !isOpen(x));
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
