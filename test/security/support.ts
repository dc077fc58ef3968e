/**
 * Shared by the security and fuzz suites: the route table of the real app (the same walk that builds
 * /api/openapi.json), well-formed dummy path values chosen from each route's param schema, and a
 * fingerprint of every row the given users own, to prove a rejected request left no trace.
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import { buildApp } from "../../src/app";
import { type Role, userRole } from "../../src/db/schema";
import type { Access } from "../../src/http/meta";
import { accessOf, type RouteEntry, routeTable } from "../../src/http/openapi";
import { testDb } from "../harness";

export type Route = RouteEntry & { access: Access[]; params: string[] };

export function routes(): Route[] {
  return routeTable(buildApp()).map((e) => ({
    ...e,
    access: accessOf(e),
    params: [...e.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!),
  }));
}

export const isOpen = (r: Route) => r.access.includes("public") || r.access.includes("signature");

/** Roles a route admits; `authenticated` admits all three. */
export function allowedRoles(r: Route): Role[] {
  if (r.access.includes("authenticated")) return [...userRole.enumValues];
  return userRole.enumValues.filter((role) => r.access.includes(role));
}

type JsonSchema = { properties?: Record<string, { pattern?: string; format?: string; maxLength?: number }>; required?: string[] };

export function jsonSchemaOf(schema: unknown): JsonSchema {
  if (!schema) return {};
  try {
    return z.toJSONSchema(schema as z.ZodType, { unrepresentable: "any", io: "input" }) as JsonSchema;
  } catch {
    return {};
  }
}

/** A value that satisfies the param's schema (uuid, slug, order id, media file name...). */
export function dummyParam(r: Route, name: string): string {
  const s = jsonSchemaOf(r.meta.request?.param).properties?.[name];
  const uuid = crypto.randomUUID();
  const candidates = [uuid, "plumber", `ORDER_${uuid.slice(0, 8)}`, `${uuid}.jpg`, "abc123"];
  if (s?.format === "uuid") return uuid;
  if (s?.pattern) {
    const re = new RegExp(s.pattern);
    const hit = candidates.find((v) => re.test(v) && (s.maxLength === undefined || v.length <= s.maxLength));
    if (hit) return hit;
  }
  return uuid;
}

export function fillPath(r: Route, values: Record<string, string> = {}): string {
  return r.path.replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, (_m, name: string) => encodeURIComponent(values[name] ?? dummyParam(r, name)));
}

/**
 * md5 over every row the users own in the main tables (row text, so updates count too). Scoped to our
 * own users because the database is shared with test files running in parallel.
 */
export async function ownedState(userIds: string[]): Promise<Record<string, string>> {
  const ids = sql.join(
    userIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const fp = (table: string, where: string) =>
    sql`(select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from ${sql.raw(table)} t where ${sql.raw(where)} in (${ids}))`;
  // bookings and listings point at provider_profiles, not users
  const fpProfile = (table: string) =>
    sql`(select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from ${sql.raw(table)} t where provider_id in (select id from provider_profiles where user_id in (${ids})))`;
  const { rows } = await testDb().http.execute(sql`select
      ${fp("users", "id")} as users,
      ${fp("sessions", "user_id")} as sessions,
      ${fp("refresh_tokens", "user_id")} as refresh_tokens,
      ${fp("addresses", "user_id")} as addresses,
      ${fp("bookings", "customer_id")} as bookings_customer,
      ${fpProfile("bookings")} as bookings_provider,
      ${fpProfile("provider_services")} as provider_services,
      ${fp("notifications", "user_id")} as notifications,
      ${fp("push_tokens", "user_id")} as push_tokens,
      ${fp("notification_settings", "user_id")} as notification_settings,
      ${fp("payment_orders", "user_id")} as payment_orders,
      ${fp("idempotency_keys", "user_id")} as idempotency_keys,
      ${fp("provider_profiles", "user_id")} as provider_profiles,
      ${fp("labour_access", "user_id")} as labour_access,
      ${fp("call_sessions", "caller_id")} as call_sessions`);
  return rows[0] as Record<string, string>;
}

/**
 * Soft-deletes accounts a test seeded once it is done with them. The matrix and the fuzz seed three
 * accounts per route; left live, ~200 admins would crowd "every admin" queries of other test files
 * running on the same database (refund alerts go to the first 50 admins).
 */
export async function retire(userIds: string[]): Promise<void> {
  const ids = sql.join(
    userIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  await testDb().http.execute(sql`update users set deleted_at = now() where id in (${ids}) and deleted_at is null`);
}
