import { sql } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { notFound } from "../http/errors";
import { isoSql, num } from "../lib/shape";
import type { ProviderProfileData } from "./schemas";

/**
 * The provider's own profile (their own phone is theirs to see). Answers before the first service
 * registration too, from the account and home address; upstream returned 404 until then and the
 * app fell back to /api/users/profile. One statement.
 */
export async function providerProfile(db: HttpDb, userId: string): Promise<ProviderProfileData> {
  const res = await db.execute(
    sql`select u.id, u.full_name, coalesce(u.email, '') as email, u.phone, u.profile_pic_url, u.is_verified,
               ${isoSql(sql`u.created_at`)} as created_at, pp.id as profile_id,
               coalesce(pp.years_of_experience, 0) as years_of_experience, coalesce(pp.is_engineering_provider, false) as is_engineering_provider,
               pp.engineering_certificate_url, coalesce(a.city, '') as city, coalesce(a.state, '') as state,
               coalesce(a.full_address, '') as full_address,
               (select count(*)::int from provider_services ps where ps.provider_id = pp.id and ps.status <> 'deleted') as registered_services_count
          from users u
          left join provider_profiles pp on pp.user_id = u.id
          left join addresses a on a.user_id = u.id and a.type = 'home'
         where u.id = ${userId}`,
  );
  const r = res.rows[0] as Record<string, unknown> | undefined;
  if (!r) throw notFound("Provider profile");
  const location = [r.city, r.state].filter((x) => typeof x === "string" && x).join(", ");
  return {
    profile: {
      id: (r.profile_id as string | null) ?? null,
      user_id: String(r.id),
      full_name: String(r.full_name ?? ""),
      email: String(r.email ?? ""),
      phone: String(r.phone ?? ""),
      profile_pic_url: String(r.profile_pic_url ?? ""),
      is_verified: Boolean(r.is_verified),
      created_at: String(r.created_at),
      years_of_experience: num(r.years_of_experience),
      is_engineering_provider: Boolean(r.is_engineering_provider),
      engineering_certificate_url: (r.engineering_certificate_url as string | null) ?? null,
      city: String(r.city),
      state: String(r.state),
      full_address: String(r.full_address),
      location,
      registered_services_count: num(r.registered_services_count),
    },
  };
}
