/**
 * Property-based fuzzing of every route in the app's route table (new routes join automatically):
 * hostile bodies, path params, query strings and headers never produce a 5xx, never leak internals,
 * and a rejected request never changes the caller's rows. Bounded: RUNS per route, routes in parallel.
 * On failure fast-check prints the seed and the shrunk request; rerun with `seed` to reproduce.
 */
import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type Role, randomIp, seedUser } from "../harness";
import { allowedRoles, dummyParam, jsonSchemaOf, ownedState, type Route, retire, routes } from "../security/support";

const RUNS = 20;
const table = routes();

// ---- arbitraries ------------------------------------------------------------------------------

const NASTY = [
  "../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2f",
  "' OR '1'='1' --",
  "1; DROP TABLE users; --",
  "$(reboot)",
  "\u0000",
  "a\u0000b",
  "null",
  "undefined",
  "NaN",
  "-1",
  "1e309",
  "0x1F",
  "99999999999999999999999",
  "__proto__",
  "constructor",
  "<script>alert(1)</script>",
  "\u202e\u200bRTL\ufeff",
  "\ud800",
  "𝕏👍🏽ह्नि",
  " ",
  "",
  "true",
  "{}",
  "[]",
  "00000000-0000-0000-0000-00000000000g",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
];
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40, unit: "binary" }) },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 70_000 }).map((n) => "x".repeat(n)) },
  { weight: 1, arbitrary: fc.double().map(String) },
);
const hostileScalar = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308, -1, 0),
);
const POLLUTION_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "role", "isAdmin", "userId"];

function bodyArb(r: Route): fc.Arbitrary<string> {
  const fields = Object.keys(jsonSchemaOf(r.meta.request?.json).properties ?? {});
  const key = fc.oneof(fc.constantFrom(...POLLUTION_KEYS, ...fields), fc.string({ maxLength: 12 }));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      hostileScalar,
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(key, tie("value"), { maxKeys: 5 }),
    ),
  }));
  // Objects shaped like the route's body, every field the wrong type or a hostile value.
  const shaped = fields.length
    ? fc.dictionary(fc.constantFrom(...fields, ...POLLUTION_KEYS), value, { maxKeys: fields.length + 2 })
    : value;
  const raw = fc.constantFrom(
    '{"__proto__":{"isAdmin":true,"role":"admin","polluted":1},"constructor":{"prototype":{"polluted":1}}}',
    `${"[".repeat(20_000)}${"]".repeat(20_000)}`,
    `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`,
    "{",
    '{"a":1,}',
    "",
    "null",
    "\u0000",
    '{"amount":"99.00","amountPaise":"9900","rating":"5"}',
  );
  return fc.oneof(
    { weight: 3, arbitrary: shaped.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: value.map((v) => JSON.stringify(v) ?? "null") },
    { weight: 2, arbitrary: raw },
  );
}

const headerSafe = (max: number) =>
  // Printable ASCII: fetch would re-encode anything else as UTF-8 (with a warning per request).
  fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: max }).map((a) => String.fromCharCode(...a).trim());
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=----x",
  "application/xml",
  "",
];

type Tokens = Record<Role, string>;

function requestArb(r: Route, tokens: Tokens) {
  const allowed = allowedRoles(r);
  const validToken = allowed.length ? tokens[allowed[0]!] : tokens.user;
  const auth = fc.oneof(
    { weight: 4, arbitrary: fc.constant(`Bearer ${validToken}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(
          "Bearer",
          "Bearer ",
          "Basic dXNlcjpwYXNz",
          "Bearer a.b.c",
          `Bearer ${validToken}x`,
          `bearer  ${validToken}  `,
          `Bearer ${"A".repeat(8000)}`,
        ),
        headerSafe(300),
        headerSafe(200).map((s) => `Bearer ${s}`),
      ),
    },
  );
  const paramArb = fc.record(
    Object.fromEntries(
      r.params.map((p) => [p, fc.oneof({ weight: 2, arbitrary: fc.constant(dummyParam(r, p)) }, { weight: 3, arbitrary: hostileString })]),
    ),
  ) as fc.Arbitrary<Record<string, string>>;
  const queryKeys = Object.keys(jsonSchemaOf(r.meta.request?.query).properties ?? {});
  const query = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom("page", "limit", "status", ...POLLUTION_KEYS, ...queryKeys), hostileString), hostileString),
    {
      maxLength: 5,
    },
  );
  const hasBody = r.method !== "GET" && r.method !== "HEAD";
  return fc.record({
    auth,
    params: paramArb,
    query,
    contentType: fc.oneof(
      { weight: 3, arbitrary: fc.constant("application/json") },
      { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    ),
    requestId: fc.oneof(headerSafe(200), fc.constantFrom("x".repeat(129), "../../x", "ok-request-id-1234")),
    body: hasBody ? fc.option(bodyArb(r), { nil: undefined, freq: 5 }) : fc.constant(undefined),
  });
}

function urlOf(r: Route, params: Record<string, string>, query: [string, string][]) {
  const path = r.path.replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, (_m, name: string) => {
    const v = params[name] ?? dummyParam(r, name);
    try {
      return encodeURIComponent(v) || "%20";
    } catch {
      return "%ED%A0%80"; // a lone surrogate: send the invalid UTF-8 a hostile client would
    }
  });
  const qs = new URLSearchParams(query).toString();
  return `http://127.0.0.1${path}${qs ? `?${qs}` : ""}`;
}

// ---- the property -------------------------------------------------------------------------------

describe.concurrent("fuzz: hostile input never yields a 5xx and never changes state", () => {
  for (const r of table) {
    it(`${r.method} ${r.path}`, async () => {
      const users = await Promise.all((["user", "provider", "admin"] as Role[]).map((role) => seedUser(role)));
      const tokens = Object.fromEntries(users.map((u) => [u.role, u.token])) as Tokens;
      const ids = users.map((u) => u.id);
      try {
        await fuzzRoute(r, tokens, ids);
      } finally {
        await retire(ids);
      }
    });
  }
});

async function fuzzRoute(r: Route, tokens: Tokens, ids: string[]) {
  const before = await ownedState(ids);
  const accepted: string[] = [];

  await fc.assert(
    fc.asyncProperty(requestArb(r, tokens), async ({ auth, params, query, contentType, requestId, body }) => {
      const headers: Record<string, string> = { "cf-connecting-ip": randomIp(), "x-request-id": requestId };
      if (auth !== undefined) headers.authorization = auth;
      if (body !== undefined && contentType) headers["content-type"] = contentType;
      const res = await SELF.fetch(urlOf(r, params, query), { method: r.method, headers, body, redirect: "manual" });
      const text = await res.text();
      const what = `${r.method} ${urlOf(r, params, query).slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
      expect(res.status, what).toBeLessThan(500);
      expect(text, `internals leaked: ${what}`).not.toMatch(/node_modules|\.ts:\d+|\n\s+at |SQLSTATE|syntax error at or near/);
      if (res.status >= 400 && (res.headers.get("content-type") ?? "").includes("json")) {
        const env = JSON.parse(text) as { status?: string; errorCode?: string };
        expect(env.status, what).toBe("error");
        expect(typeof env.errorCode, what).toBe("string");
      }
      if (res.status < 300) accepted.push(what);
    }),
    { numRuns: RUNS },
  );

  // Rejected input leaves no trace. Accepted requests may legitimately change state (a bodyless
  // logout with a valid token succeeds whatever garbage rides along), so only when none was accepted.
  if (accepted.length === 0) expect(await ownedState(ids), `${r.method} ${r.path} changed rows`).toEqual(before);
  expect(({} as Record<string, unknown>).polluted, "Object.prototype polluted").toBeUndefined();
  expect(({} as Record<string, unknown>).isAdmin, "Object.prototype polluted").toBeUndefined();
}

afterAll(() => {
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
});
