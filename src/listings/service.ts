import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { z } from "zod";
import type { Db, HttpDb } from "../db/client";
import { pgCode, pgConstraint } from "../db/client";
import { AppError, conflict, notFound } from "../http/errors";
import { isoSql, num, pgTextArray, pricingOf, rupees, textArray } from "../lib/shape";
import { acceptImages, type ImageInput, imageList, type MediaOwner, type MediaStore } from "../media/store";
import { notifyStatement } from "../outbox/outbox";
import { serviceNameForCategory } from "./categories";
import type { Registered, Registration, RegistrationInput, RegistrationUpdate } from "./schemas";

/** The listing row a registration inserts, as its `returning` clause selects it. */
type NewListing = Omit<z.input<typeof Registered>["providerService"], "payment_status" | "service_name">;

/**
 * Provider service registration (upstream's, with its holes fixed): one live listing per provider and category
 * (unique index, 23505 → "Already registered"), a single home address upserted (upstream added one
 * per registration and duplicated every listing), paid categories start `pending` until the listing
 * fee is paid, free ones (`labors`) start `active` for their validity. Deleting is a soft delete, so
 * payment orders that reference the listing survive.
 */

type Row = Record<string, unknown>;
const rowsOf = async (db: HttpDb, q: SQL): Promise<Row[]> => (await db.execute(q)).rows as Row[];

/** One statement of a non-interactive batch (sent, in order, as one transaction in one round trip). */
type Statement = BatchItem<"pg">;
const batch = (db: HttpDb, statements: Statement[]) => db.batch(statements as [Statement, ...Statement[]]);

type Category = {
  id: string;
  name: string;
  isPaid: boolean;
  validityDays: number;
  subs: { id: string; slug: string }[];
  /** The caller's live listing in this category, with the image URLs it holds now. */
  existing: { id: string; proofs: string[]; certificate: string | null } | null;
};

async function loadCategory(db: HttpDb, category: string, providerUserId: string): Promise<Category> {
  const name = serviceNameForCategory(category);
  const [r] = await rowsOf(
    db,
    sql`select sm.id, sm.name, sm.is_paid, sm.listing_validity_days, sm.is_active,
               (select coalesce(json_agg(json_build_object('id', s.id, 'slug', s.slug)), '[]'::json)
                  from sub_services s where s.service_id = sm.id and s.is_active) as subs,
               (select json_build_object('id', ps.id, 'proofs', coalesce(ps.working_proof_urls, '{}'), 'certificate', pp.engineering_certificate_url)
                  from provider_services ps join provider_profiles pp on pp.id = ps.provider_id
                 where ps.service_id = sm.id and pp.user_id = ${providerUserId} and ps.status <> 'deleted') as existing
          from services_master sm where sm.name = ${name}`,
  );
  if (!r) throw notFound("Service category");
  const subs = (typeof r.subs === "string" ? JSON.parse(r.subs) : r.subs) as { id: string; slug: string }[];
  if (!r.is_active || subs.length === 0) throw new AppError("UNPROCESSABLE", `The ${name} category is not open for registration yet`);
  return {
    id: r.id as string,
    name: r.name as string,
    isPaid: Boolean(r.is_paid),
    validityDays: num(r.listing_validity_days),
    subs,
    existing: (typeof r.existing === "string" ? JSON.parse(r.existing) : r.existing) ?? null,
  };
}

/** Maps the app's `{serviceId, price}` (slug or uuid, rupees) onto the category's sub-services. */
function pricedSubServices(cat: Category, input: { serviceId: string; price: number }[]): { subServiceId: string; pricePaise: number }[] {
  const out = new Map<string, number>();
  input.forEach((s, i) => {
    const sub = cat.subs.find((x) => x.slug === s.serviceId || x.id === s.serviceId);
    if (!sub)
      throw new AppError(
        "VALIDATION_ERROR",
        `Sub-services validation failed: Sub-service ${i + 1}: "${s.serviceId.slice(0, 60)}" is not a ${cat.name} service`,
        {
          errors: [{ field: `subServices.${i}.serviceId`, message: "unknown sub-service for this category" }],
        },
      );
    out.set(sub.id, Math.round(s.price * 100));
  });
  return [...out.entries()].map(([subServiceId, pricePaise]) => ({ subServiceId, pricePaise }));
}

/**
 * The provider profile and the single home address, as statements of the registration's batch (the
 * profile first: the listing statement after it finds the profile by the provider's user id).
 */
function profileAndAddress(
  db: HttpDb,
  userId: string,
  p: {
    years?: number;
    isEngineering?: boolean;
    certificateUrl?: string | null;
    state?: string;
    city?: string | null;
    fullAddress?: string;
  },
): Statement[] {
  const statements: Statement[] = [
    db.execute(
      sql`insert into provider_profiles (user_id, years_of_experience, is_engineering_provider, engineering_certificate_url)
          values (${userId}, ${p.years ?? 0}, ${p.isEngineering ?? false}, ${p.certificateUrl ?? null})
          on conflict (user_id) do update set
            years_of_experience = coalesce(${p.years ?? null}::int, provider_profiles.years_of_experience),
            is_engineering_provider = coalesce(${p.isEngineering ?? null}::boolean, provider_profiles.is_engineering_provider),
            engineering_certificate_url = coalesce(${p.certificateUrl ?? null}, provider_profiles.engineering_certificate_url)`,
    ),
  ];
  if (p.state !== undefined || p.fullAddress !== undefined || p.city !== undefined) {
    statements.push(
      db.execute(
        sql`insert into addresses (user_id, type, state, city, full_address) values (${userId}, 'home', ${p.state ?? null}, ${p.city ?? null}, ${p.fullAddress ?? null})
            on conflict (user_id) where type = 'home' do update set
              state = coalesce(excluded.state, addresses.state), city = coalesce(excluded.city, addresses.city),
              full_address = coalesce(excluded.full_address, addresses.full_address)`,
      ),
    );
  }
  return statements;
}

function insertPrices(
  db: HttpDb,
  listingId: string,
  serviceId: string,
  prices: { subServiceId: string; pricePaise: number }[],
): Statement[] {
  if (prices.length === 0) return [];
  return [
    db.execute(
      sql`insert into provider_sub_services (provider_service_id, service_id, sub_service_id, price_paise) values ${sql.join(
        prices.map((p) => sql`(${listingId}, ${serviceId}, ${p.subServiceId}, ${p.pricePaise})`),
        sql`, `,
      )}`,
    ),
  ];
}

/**
 * The registration's images (working proofs, engineering certificate) as URLs to save: new photos
 * stored under the provider, our URLs accepted only if the provider owns them (docs/api-contract.md §3.5).
 */
async function registrationImages(
  owner: MediaOwner,
  input: Pick<RegistrationUpdate, "workingProofUrls" | "engineeringCertificateUrl">,
  existing?: { proofs: string[]; certificate: string | null },
): Promise<{ proofs?: string[]; certificate?: string }> {
  const proofs = input.workingProofUrls
    ? imageList(input.workingProofUrls, { kind: "working-proofs", field: "workingProofUrls", current: existing?.proofs })
    : [];
  const certificate: ImageInput[] = input.engineeringCertificateUrl
    ? [
        {
          value: input.engineeringCertificateUrl,
          kind: "certificates",
          field: "engineeringCertificateUrl",
          current: [existing?.certificate],
        },
      ]
    : [];
  const urls = await acceptImages(owner, [...proofs, ...certificate]);
  return {
    proofs: input.workingProofUrls ? urls.slice(0, proofs.length) : undefined,
    certificate: certificate.length > 0 ? urls[proofs.length] : undefined,
  };
}

export async function registerService(
  db: Db,
  providerUserId: string,
  category: string,
  input: RegistrationInput,
  media: MediaStore,
): Promise<{ listing: NewListing; isFreeService: boolean; serviceName: string }> {
  const cat = await loadCategory(db.http, category, providerUserId);
  if (cat.existing) throw conflict("Already registered for this service", "ALREADY_EXISTS");
  const prices = pricedSubServices(cat, input.subServices);
  const isEngineering = cat.name === "engineer-interior" || input.isEngineeringProvider === true;
  if (cat.name === "engineer-interior" && !input.engineeringCertificateUrl)
    throw new AppError("VALIDATION_ERROR", "An engineering certificate is required for engineer-interior", {
      errors: [{ field: "engineeringCertificateUrl", message: "required for engineer-interior" }],
    });
  // Images go to the object store before the batch (the category read above confirmed the session):
  // R2 is not transactional, and an orphaned image after a refused insert is harmless.
  const { proofs = [], certificate } = await registrationImages({ ...media, userId: providerUserId }, input);
  // One non-interactive batch, one transaction: profile, address, listing (its id minted here, so the
  // prices and the notification can name it), prices and the notification. A concurrent registration
  // in the category fails the listing insert on the unique index, and the whole batch rolls back.
  const listingId = crypto.randomUUID();
  const window = cat.isPaid
    ? sql`'pending'::listing_status, null::timestamptz, null::timestamptz`
    : sql`'active'::listing_status, now(), now() + make_interval(days => ${cat.validityDays})`;
  const notice = notifyStatement(db.http, {
    userId: providerUserId,
    title: cat.isPaid ? "Service Registered" : "Service Activated",
    message: cat.isPaid
      ? `Your ${cat.name} registration is saved. Pay the listing fee to go live.`
      : `Your ${cat.name} listing is live for ${cat.validityDays} days.`,
    type: "system",
    data: { providerServiceId: listingId, type: cat.isPaid ? "service_registered" : "service_activated", screen: "services" },
    dedupKey: `listing:${listingId}:registered`,
  });
  const profile = profileAndAddress(db.http, providerUserId, {
    years: input.yearsOfExperience,
    isEngineering: isEngineering,
    certificateUrl: certificate ?? null,
    state: input.state,
    city: input.city ?? null,
    fullAddress: input.fullAddress,
  });
  const listing = db.http.execute(
    sql`insert into provider_services (id, provider_id, service_id, status, activated_at, expires_at, service_description, working_proof_urls)
        select ${listingId}, pp.id, ${cat.id}, ${window}, ${input.serviceDescription?.trim() ?? ""}, ${pgTextArray(proofs)}::text[]
          from provider_profiles pp where pp.user_id = ${providerUserId}
        returning id, provider_id, service_id, status, ${isoSql(sql`activated_at`)} as activated_at, ${isoSql(sql`expires_at`)} as expires_at,
                  service_description, working_proof_urls, ${isoSql(sql`created_at`)} as created_at`,
  );
  try {
    const results = await batch(db.http, [...profile, listing, ...insertPrices(db.http, listingId, cat.id, prices), notice.query]);
    const l = (results[profile.length] as { rows: NewListing[] }).rows[0]!;
    return { listing: l, isFreeService: !cat.isPaid, serviceName: cat.name };
  } catch (err) {
    if (pgCode(err) === "23505" && pgConstraint(err) === "provider_services_live_uq")
      throw conflict("Already registered for this service", "ALREADY_EXISTS");
    throw err;
  }
}

/** Edit mode: the app sends the category, not the listing id, so the caller's live listing in it is found here. */
export async function updateRegistration(
  db: Db,
  providerUserId: string,
  category: string,
  input: RegistrationUpdate,
  media: MediaStore,
): Promise<{ listingId: string }> {
  const cat = await loadCategory(db.http, category, providerUserId);
  if (!cat.existing) throw notFound("Service registration");
  const listingId = cat.existing.id;
  const prices = input.subServices ? pricedSubServices(cat, input.subServices) : undefined;
  // Edit mode sends the stored URLs back with any new photos; those it holds now stay acceptable.
  const { proofs, certificate } = await registrationImages({ ...media, userId: providerUserId }, input, cat.existing);
  await batch(db.http, [
    ...profileAndAddress(db.http, providerUserId, {
      years: input.yearsOfExperience,
      isEngineering: input.isEngineeringProvider ?? undefined,
      certificateUrl: certificate ?? null,
      state: input.state,
      city: input.city ?? undefined,
      fullAddress: input.fullAddress,
    }),
    db.http.execute(
      sql`update provider_services set
            service_description = coalesce(${input.serviceDescription === undefined || input.serviceDescription === null ? null : input.serviceDescription.trim()}, service_description),
            working_proof_urls = coalesce(${proofs ? pgTextArray(proofs) : null}::text[], working_proof_urls)
          where id = ${listingId}`,
    ),
    ...(prices
      ? [
          db.http.execute(sql`delete from provider_sub_services where provider_service_id = ${listingId}`),
          ...insertPrices(db.http, listingId, cat.id, prices),
        ]
      : []),
  ]);
  return { listingId };
}

/** Soft delete; refused while a customer holds a pending or accepted booking on it. */
export async function deleteRegistration(db: HttpDb, providerUserId: string, listingId: string): Promise<void> {
  const rows = await rowsOf(
    db,
    sql`update provider_services ps set status = 'deleted', deleted_at = now()
          from provider_profiles pp
         where ps.id = ${listingId} and pp.id = ps.provider_id and pp.user_id = ${providerUserId} and ps.status <> 'deleted'
           and not exists (select 1 from bookings b where b.provider_service_id = ps.id and b.status in ('pending', 'accepted'))
        returning ps.id`,
  );
  if (rows.length > 0) return;
  const [cur] = await rowsOf(
    db,
    sql`select ps.id from provider_services ps join provider_profiles pp on pp.id = ps.provider_id
         where ps.id = ${listingId} and pp.user_id = ${providerUserId} and ps.status <> 'deleted'`,
  );
  if (!cur) throw notFound("Service registration");
  throw conflict("Cannot delete this service registration while it has pending or accepted bookings. Complete or cancel them first.");
}

/** The provider's live registrations with status, paid window, prices and address (docs/api-contract.md §3.5). */
export async function myRegistrations(db: HttpDb, providerUserId: string): Promise<z.input<typeof Registration>[]> {
  const rows = await rowsOf(
    db,
    sql`select ps.id as provider_service_id, ps.service_id, sm.name as service_name, sm.is_paid, sm.listing_fee_paise,
               case when ps.status = 'active' and ps.expires_at <= now() then 'expired' else ps.status::text end as payment_status,
               ${isoSql(sql`ps.activated_at`)} as payment_start_date, ${isoSql(sql`ps.expires_at`)} as payment_end_date,
               extract(epoch from (ps.expires_at - now())) / 86400.0 as days_until_expiry,
               ${isoSql(sql`ps.created_at`)} as created_at, ps.working_proof_urls, ps.service_description,
               pp.engineering_certificate_url, pp.is_engineering_provider, pp.years_of_experience,
               coalesce(a.state, '') as state, coalesce(a.city, '') as city, coalesce(a.full_address, '') as full_address,
               (select coalesce(json_agg(json_build_object('id', x.id, 'slug', s.slug, 'name', s.name, 'pricePaise', x.price_paise,
                          'createdAt', ${isoSql(sql`x.created_at`)}, 'updatedAt', ${isoSql(sql`x.updated_at`)}) order by s.sort_order), '[]'::json)
                  from provider_sub_services x join sub_services s on s.id = x.sub_service_id
                 where x.provider_service_id = ps.id) as subs
          from provider_services ps
          join provider_profiles pp on pp.id = ps.provider_id and pp.user_id = ${providerUserId}
          join services_master sm on sm.id = ps.service_id
          left join addresses a on a.user_id = pp.user_id and a.type = 'home'
         where ps.status <> 'deleted'
         order by ps.created_at desc`,
  );
  return rows.map((r) => {
    const subs = (typeof r.subs === "string" ? JSON.parse(r.subs) : r.subs) as {
      id: string;
      slug: string;
      name: string;
      pricePaise: number;
      createdAt: string;
      updatedAt: string;
    }[];
    const prices = subs.map((s) => s.pricePaise);
    const days =
      r.days_until_expiry === null || r.days_until_expiry === undefined ? null : Math.round(Number(r.days_until_expiry) * 100) / 100;
    return {
      provider_service_id: r.provider_service_id as string,
      service_id: r.service_id as string,
      service_name: r.service_name as string,
      is_paid: Boolean(r.is_paid),
      listing_fee: rupees(num(r.listing_fee_paise)),
      payment_status: r.payment_status as z.input<typeof Registration>["payment_status"],
      payment_start_date: (r.payment_start_date as string | null) ?? null,
      payment_end_date: (r.payment_end_date as string | null) ?? null,
      days_until_expiry: days,
      created_at: r.created_at as string,
      working_proof_urls: textArray(r.working_proof_urls),
      engineering_certificate_url: (r.engineering_certificate_url as string | null) ?? null,
      is_engineering_provider: Boolean(r.is_engineering_provider),
      state: r.state as string,
      city: r.city as string,
      full_address: r.full_address as string,
      years_of_experience: num(r.years_of_experience),
      service_description: String(r.service_description ?? ""),
      sub_services: subs.map((s) => ({
        id: s.id,
        serviceId: s.slug,
        service_id: s.slug,
        serviceName: s.name,
        price: rupees(s.pricePaise),
        cost: rupees(s.pricePaise),
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
      })),
      pricing: pricingOf(prices.length ? Math.min(...prices) : null, prices.length ? Math.max(...prices) : null, prices.length),
    };
  });
}
