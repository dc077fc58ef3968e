import { type SQL, sql } from "drizzle-orm";
import type { z } from "zod";
import type { HttpDb } from "../db/client";
import { isoSql, num, pricingOf, rupees, textArray } from "../lib/shape";
import type { FeaturedProviders, ListingCard, ProviderPage, PublicListing, ServiceCategories } from "./catalogue-schemas";
import { citySpellings, publicServiceName } from "./categories";

/**
 * Public catalogue reads (no authentication, never a phone number: calls are masked).
 * Ratings are the customers' ratings of the provider (the person), averaged over all of them to one
 * decimal; upstream averaged only the last 10 on one screen and all on another.
 */

type Row = Record<string, unknown>;
const rowsOf = async (db: HttpDb, q: SQL): Promise<Row[]> => (await db.execute(q)).rows as Row[];

/** A listing is public while it is active and inside its paid window, and its provider exists. */
const PUBLIC_LISTING = sql`ps.status = 'active' and ps.expires_at > now() and u.deleted_at is null`;

const LISTING_COLUMNS = sql`
  ps.id as provider_service_id, ps.service_id, sm.name as service_name, u.id as user_id,
  u.full_name, u.profile_pic_url, pp.years_of_experience, pp.is_engineering_provider,
  ps.service_description, ps.working_proof_urls,
  coalesce(a.city, '') as city, coalesce(a.state, '') as state,
  ${isoSql(sql`ps.activated_at`)} as payment_start_date, ${isoSql(sql`ps.expires_at`)} as payment_end_date,
  r.avg_rating, r.total_reviews, p.min_paise, p.max_paise, p.sub_count`;

const LISTING_JOINS = sql`
  from provider_services ps
  join services_master sm on sm.id = ps.service_id
  join provider_profiles pp on pp.id = ps.provider_id
  join users u on u.id = pp.user_id
  left join addresses a on a.user_id = u.id and a.type = 'home'
  left join lateral (
    select round(avg(rt.rating)::numeric, 1)::float8 as avg_rating, count(*)::int as total_reviews
      from ratings rt where rt.ratee_id = u.id and rt.direction = 'customer_to_provider'
  ) r on true
  left join lateral (
    select min(x.price_paise)::int as min_paise, max(x.price_paise)::int as max_paise, count(*)::int as sub_count
      from provider_sub_services x where x.provider_service_id = ps.id
  ) p on true`;

/** The fields every public listing card carries, in the apps' names and types. */
function listingCard(r: Row): z.input<typeof ListingCard> {
  const total = num(r.total_reviews);
  return {
    provider_service_id: r.provider_service_id as string,
    service_id: r.service_id as string,
    service_name: publicServiceName(String(r.service_name)),
    user_id: r.user_id as string,
    full_name: String(r.full_name ?? ""),
    profile_pic_url: String(r.profile_pic_url ?? ""),
    years_of_experience: num(r.years_of_experience),
    service_description: String(r.service_description ?? ""),
    working_proof_urls: textArray(r.working_proof_urls),
    city: String(r.city ?? ""),
    state: String(r.state ?? ""),
    payment_start_date: (r.payment_start_date as string | null) ?? null,
    payment_end_date: (r.payment_end_date as string | null) ?? null,
    averageRating: total > 0 ? Number(r.avg_rating) : null,
    totalReviews: total,
    pricing: pricingOf(r.min_paise as number | null, r.max_paise as number | null, num(r.sub_count)),
  };
}

export type ServiceGeneration = { id: string; name: string; version: number };

/** One primary-key read: the category and its cache generation (null when unknown or hidden). */
export async function serviceGeneration(db: HttpDb, serviceId: string): Promise<ServiceGeneration | null> {
  const [r] = await rowsOf(db, sql`select id, name, listings_version from services_master where id = ${serviceId} and is_active limit 1`);
  return r ? { id: r.id as string, name: r.name as string, version: num(r.listings_version) } : null;
}

export async function listingGeneration(db: HttpDb, providerServiceId: string): Promise<{ serviceId: string; version: number } | null> {
  const [r] = await rowsOf(
    db,
    sql`select sm.id, sm.listings_version from provider_services ps join services_master sm on sm.id = ps.service_id
        where ps.id = ${providerServiceId} limit 1`,
  );
  return r ? { serviceId: r.id as string, version: num(r.listings_version) } : null;
}

/** Sum of every category's generation: changes whenever any listing anywhere changes. */
export async function globalGeneration(db: HttpDb): Promise<number> {
  const [r] = await rowsOf(db, sql`select coalesce(sum(listings_version), 0)::bigint::text as v from services_master`);
  return num(r?.v);
}

/** Categories a customer can browse: active, with at least one active sub-service. */
export async function listPublicServices(db: HttpDb): Promise<z.input<typeof ServiceCategories>> {
  const rows = await rowsOf(
    db,
    sql`select sm.id, sm.name, sm.is_paid, ${isoSql(sql`sm.created_at`)} as created_at
          from services_master sm
         where sm.is_active and exists (select 1 from sub_services s where s.service_id = sm.id and s.is_active)
         order by sm.sort_order, sm.name`,
  );
  const services = rows.map((r) => ({
    id: r.id as string,
    name: publicServiceName(String(r.name)),
    is_paid: Boolean(r.is_paid),
    created_at: r.created_at as string,
  }));
  return {
    services,
    pagination: { currentPage: 1, totalPages: 1, total: services.length, limit: services.length, hasMore: false },
  };
}

const inList = (values: string[]): SQL =>
  values.length
    ? sql`(${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )})`
    : sql`(null)`;

/**
 * Active providers of a category. Customers in the same city and state come first, then the same
 * state, then the rest; within a group the most experienced first (as upstream). Null when the
 * category is unknown or hidden. One round trip: the category check and the page with its total
 * (count(*) over ()); past page 1 the total is counted beside the page too, since a page past the last
 * has no rows to carry it.
 */
export async function listProvidersOfService(
  db: HttpDb,
  serviceId: string,
  q: { page: number; limit: number; userCity?: string; userState?: string; state?: string },
): Promise<z.input<typeof ProviderPage> | null> {
  const cities = citySpellings(q.userCity ?? "");
  const userState = (q.userState ?? "").trim().toLowerCase();
  const stateFilter = (q.state ?? "").trim().toLowerCase();
  const sameState = userState ? sql`lower(coalesce(a.state, '')) = ${userState}` : undefined;
  const sameCity = cities.length ? sql`lower(coalesce(a.city, '')) in ${inList(cities)}` : undefined;
  // Only real expressions: Postgres rejects a constant (`false`) in ORDER BY.
  const nearFirst = [
    sameCity && sameState ? sql`(${sameCity} and ${sameState}) desc` : sameCity ? sql`(${sameCity}) desc` : undefined,
    sameState ? sql`(${sameState}) desc` : undefined,
  ].filter((x): x is SQL => x !== undefined);
  const offset = (q.page - 1) * q.limit;
  const listed = sql`ps.service_id = ${serviceId} and ${PUBLIC_LISTING}
    ${stateFilter ? sql`and lower(coalesce(a.state, '')) = ${stateFilter}` : sql``}`;
  const [category, page] = await db.batch([
    db.execute(
      sql`select ${q.page > 1 ? sql`(select count(*)::int ${LISTING_JOINS} where ${listed})` : sql`null`} as n
            from services_master where id = ${serviceId} and is_active`,
    ),
    db.execute(
      sql`select ${LISTING_COLUMNS}, count(*) over ()::int as total_count
          ${LISTING_JOINS}
          where ${listed}
          order by ${sql.join([...nearFirst, sql`pp.years_of_experience desc, ps.created_at desc, ps.id`], sql`, `)}
          limit ${q.limit} offset ${offset}`,
    ),
  ]);
  const known = category.rows[0] as Row | undefined;
  if (!known) return null;
  const rows = page.rows as Row[];
  // Past the last page the window count is gone with the rows.
  const total = rows.length === 0 && q.page > 1 ? num(known.n) : num(rows[0]?.total_count);
  const totalPages = Math.max(1, Math.ceil(total / q.limit));
  return {
    providers: rows.map(listingCard),
    pagination: { total, currentPage: q.page, totalPages, limit: q.limit, hasMore: q.page < totalPages },
  };
}

/** One public listing with its priced sub-services and the latest reviews (provider detail + booking screen). */
export async function publicListing(
  db: HttpDb,
  providerServiceId: string,
  serviceId?: string,
): Promise<z.input<typeof PublicListing> | null> {
  const [r] = await rowsOf(
    db,
    sql`select ${LISTING_COLUMNS},
          (select coalesce(json_agg(json_build_object('id', x.id, 'serviceId', s.slug, 'serviceName', s.name, 'pricePaise', x.price_paise)
                    order by s.sort_order, s.slug), '[]'::json)
             from provider_sub_services x join sub_services s on s.id = x.sub_service_id
            where x.provider_service_id = ps.id) as sub_services,
          (select coalesce(json_agg(t order by t.created_at desc), '[]'::json) from (
             select rt.rating, rt.review, ${isoSql(sql`rt.created_at`)} as created_at, cu.full_name as customer_name
               from ratings rt join users cu on cu.id = rt.rater_id
              where rt.ratee_id = u.id and rt.direction = 'customer_to_provider'
              order by rt.created_at desc limit 10) t) as ratings
        ${LISTING_JOINS}
        where ps.id = ${providerServiceId} and ${PUBLIC_LISTING}
          ${serviceId ? sql`and ps.service_id = ${serviceId}` : sql``}
        limit 1`,
  );
  if (!r) return null;
  const subs = (typeof r.sub_services === "string" ? JSON.parse(r.sub_services) : r.sub_services) as {
    id: string;
    serviceId: string;
    serviceName: string;
    pricePaise: number;
  }[];
  const ratings = (typeof r.ratings === "string" ? JSON.parse(r.ratings) : r.ratings) as Row[];
  return {
    ...listingCard(r),
    is_engineering_provider: Boolean(r.is_engineering_provider),
    serviceDescription: String(r.service_description ?? ""),
    sub_services: subs.map((s) => ({ id: s.id, serviceId: s.serviceId, serviceName: s.serviceName, price: rupees(s.pricePaise) ?? 0 })),
    ratings: ratings.map((x) => ({
      rating: num(x.rating),
      review: (x.review as string | null) ?? null,
      created_at: x.created_at as string,
      customer_name: String(x.customer_name ?? ""),
    })),
  };
}

/** Up to 10 active listings, best rated first (deterministic, so the edge cache serves everyone the same). */
export async function featuredProviders(db: HttpDb): Promise<z.input<typeof FeaturedProviders>> {
  const rows = await rowsOf(
    db,
    sql`select ${LISTING_COLUMNS}
        ${LISTING_JOINS}
        where ${PUBLIC_LISTING}
        order by coalesce(r.avg_rating, 0) desc, r.total_reviews desc, pp.years_of_experience desc, ps.created_at desc
        limit 10`,
  );
  return { providers: rows.map(listingCard) };
}
