/**
 * One step per old table: how it is read (keyset pages in primary-key order, with the joins the
 * mapping needs) and how each old row becomes ours, or a quarantine entry. Steps run in dependency
 * order; a row whose parent did not make it is caught by the writer (`parent_not_imported`).
 *
 * Ids are kept: every imported row has its old UUID, so what the apps cached keeps resolving.
 */
import type pg from "pg";
import { formatClock, parseClock } from "../../src/bookings/clock.ts";
import { normalisePhone } from "../../src/http/fields.ts";
import {
  addDays,
  appointmentInstant,
  BCRYPT,
  endOfIstDay,
  instantSql,
  legacyPhoneDigits,
  normaliseEmail,
  paise,
  startOfIstDay,
  type Zone,
} from "./legacy.ts";
import type { Action, QuarantineEntry, TableWrite } from "./writer.ts";

export type Row = Record<string, unknown>;

export type Catalogue = {
  /** Our services_master by slug. */
  services: Map<string, { id: string; validityDays: number; isPaid: boolean }>;
  /** Our sub_services by `<service id>:<slug>`. */
  subs: Map<string, { id: string; name: string }>;
};

export type Ctx = {
  /** Zone of the old Node server, for the columns it filled from JavaScript Dates. */
  nodeTz: string;
  /** The run's reference instant (the target's now() when the run started). */
  asOf: string;
  /** India date of asOf: a listing paid through an earlier day had expired. */
  today: string;
  catalogue: Catalogue;
  /** Prepass results per step: source id → decision. */
  decisions: Map<string, Map<string, Row>>;
};

export type Output = { writes: TableWrite[]; quarantine: QuarantineEntry[] };

export type Step = {
  name: string;
  /** Old table the rows (and their quarantine entries) come from. */
  sourceTable: string;
  countSql: string;
  /** `$1` is the last key read (absent on the first page), the last parameter the page size. */
  readSql: (ctx: Ctx, first: boolean) => string;
  keyOf: (row: Row) => string;
  /** Whole-table decisions that need every row at once (duplicates); only the dirty rows are kept. */
  prepass?: (src: pg.Client, ctx: Ctx) => Promise<Map<string, Row>>;
  transform: (rows: Row[], ctx: Ctx) => Output;
};

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** An instant the source rendered as ISO text (instantSql), or one of the importer's own. */
const toIso = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const jsonObject = (v: unknown): Record<string, unknown> => {
  if (v === null || v === undefined) return {};
  if (typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  return { value: v };
};

function entry(
  sourceTable: string,
  sourceId: unknown,
  reason: string,
  action: Action,
  detail: Record<string, unknown> = {},
): QuarantineEntry {
  return { sourceTable, sourceId: String(sourceId), reason, action, detail };
}

/** The SQL of a keyset page over `from`, whose main table is aliased `alias`. */
function page(select: string, from: string, alias: string, first: boolean, where = "true"): string {
  const cond = first ? where : `${alias}.id > $1 AND (${where})`;
  return `SELECT ${select} FROM ${from} WHERE ${cond} ORDER BY ${alias}.id LIMIT $${first ? 1 : 2}`;
}

const at = (ctx: Ctx, column: string, zone: Zone = "ist") => instantSql(column, zone, ctx.nodeTz);

/** SQL over the writer's input row `i`: the row `i.<column>` points at exists in the target. */
const exists = (table: string, column: string, key = "id") => `EXISTS (SELECT 1 FROM ${table} p WHERE p.${key} = i.${column})`;

/** Records why the current source row was quarantined or corrected; returns null, for `return note(..., "skipped")`. */
type Note = (reason: string, action: Action, detail?: Record<string, unknown>) => null;

/**
 * The common step: one old table (aliased `alias`, default `s`) to one of ours, row for row. `map`
 * returns the target row (its keys are the target's columns), or null when it `note`d a skip.
 */
function tableStep(o: {
  name: string;
  alias?: string;
  select: (ctx: Ctx) => string;
  joins?: string;
  prepass?: Step["prepass"];
  map: (r: Row, ctx: Ctx, note: Note) => Record<string, unknown> | null;
  write: Omit<TableWrite, "rows" | "sourceTable">;
}): Step {
  const alias = o.alias ?? "s";
  return {
    name: o.name,
    sourceTable: o.name,
    countSql: `SELECT count(*) FROM ${o.name}`,
    readSql: (ctx, first) => page(o.select(ctx), `${o.name} ${alias} ${o.joins ?? ""}`, alias, first),
    keyOf: (r) => String(r.id),
    prepass: o.prepass,
    transform: (rows, ctx) => {
      const quarantine: QuarantineEntry[] = [];
      const written: TableWrite["rows"] = [];
      for (const r of rows) {
        const note: Note = (reason, action, detail = {}) => {
          quarantine.push(entry(o.name, r.id, reason, action, detail));
          return null;
        };
        const row = o.map(r, ctx, note);
        if (row) written.push({ _sid: String(r.id), ...row });
      }
      return { quarantine, writes: [{ ...o.write, sourceTable: o.name, rows: written }] };
    },
  };
}

/** Ids of the rows a window ranks after the first of their group (`SELECT id, kept ...`), with the one kept. */
async function losers(src: pg.Client, sql: string): Promise<Map<string, Row>> {
  const { rows } = await src.query(`SELECT id, kept FROM (${sql}) s WHERE id <> kept`);
  return new Map(rows.map((r) => [String(r.id), { kept: String(r.kept) }]));
}

/** The apps' phone: ours first (src/http/fields.ts), then the old server's looser rule. */
export function importPhone(raw: string): string | null {
  const ours = normalisePhone(raw);
  if (ours) return ours;
  const d = legacyPhoneDigits(raw);
  return /^[2-9]\d{9}$/.test(d) ? d : null;
}

const timestamps = (r: Row, ctx: Ctx, updated: unknown = r.created_at) => {
  const createdAt = toIso(r.created_at) ?? ctx.asOf;
  return { created_at: createdAt, updated_at: toIso(updated) ?? createdAt };
};

// ---------------------------------------------------------------------------------------------
// Accounts

const users = tableStep({
  name: "users",
  select: (ctx) => `s.id, s.full_name, s.email, s.phone, s.password, s.profile_pic_url, s.role, s.is_verified, s.name_change_count,
                    ${at(ctx, "s.created_at")} AS created_at`,
  /**
   * Twin accounts: one (phone, role) held by two rows (two OTP verifications raced; or two spellings
   * of one number, "+91 98765 43210" and "9876543210"). Candidates share the last 10 digits; the exact
   * normalised phone decides. The first registered account stays; later twins are imported deleted,
   * so their bookings and payments keep pointing at a row. Also: two e-mails equal but for case.
   */
  prepass: async (src) => {
    const decisions = new Map<string, Row>();
    const { rows } = await src.query(`
      SELECT id, phone, role FROM users
       WHERE (right(regexp_replace(phone, '\\D', '', 'g'), 10), role) IN (
             SELECT right(regexp_replace(phone, '\\D', '', 'g'), 10), role FROM users GROUP BY 1, 2 HAVING count(*) > 1)
       ORDER BY created_at NULLS LAST, id`);
    const firstOf = new Map<string, string>();
    for (const r of rows) {
      const p = importPhone(String(r.phone));
      if (!p) continue;
      const k = `${p}|${r.role}`;
      const kept = firstOf.get(k);
      if (kept) decisions.set(String(r.id), { twinOf: kept });
      else firstOf.set(k, String(r.id));
    }
    const emails = await src.query(`
      SELECT id, lower(btrim(email)) AS email, role FROM users
       WHERE email IS NOT NULL AND (lower(btrim(email)), role) IN (
             SELECT lower(btrim(email)), role FROM users WHERE email IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)
       ORDER BY created_at NULLS LAST, id`);
    const emailFirst = new Set<string>();
    for (const r of emails.rows) {
      if (decisions.has(String(r.id))) continue; // a deleted twin competes for nothing
      const k = `${r.email}|${r.role}`;
      if (emailFirst.has(k)) decisions.set(String(r.id), { emailTaken: true });
      else emailFirst.add(k);
    }
    return decisions;
  },
  map: (r, ctx, note) => {
    const rawPhone = String(r.phone);
    const phone = importPhone(rawPhone);
    if (!phone) {
      note("invalid_phone", "skipped", { phone: rawPhone });
      return null;
    }
    if (phone !== rawPhone) note("phone_normalised", "corrected", { from: rawPhone, to: phone });
    const d = ctx.decisions.get("users")!.get(String(r.id));
    if (d?.twinOf) note("duplicate_account", "imported_as_deleted", { keptAccount: d.twinOf, phone, role: r.role });
    let email = normaliseEmail(str(r.email));
    if (r.email !== null && email === null) note("invalid_email", "corrected", { email: r.email, to: null });
    if (email && d?.emailTaken) {
      note("duplicate_email", "corrected", { email, to: null });
      email = null;
    }
    let passwordHash = String(r.password);
    if (!BCRYPT.test(passwordHash)) {
      // Never carry a non-bcrypt value (possibly a plain password) over; the person resets it by OTP.
      note("unusable_password_hash", "corrected", { to: "reset by OTP required" });
      passwordHash = "!legacy-import-unusable";
    }
    let fullName = String(r.full_name ?? "").trim();
    if (!fullName) {
      note("blank_name", "corrected", { to: "BuildXpert user" });
      fullName = "BuildXpert user";
    }
    return {
      id: r.id,
      role: r.role,
      phone,
      email,
      password_hash: passwordHash,
      full_name: fullName,
      profile_pic_url: str(r.profile_pic_url) ?? "",
      name_change_count: Math.max(0, Number(r.name_change_count ?? 0)),
      is_verified: r.is_verified === true,
      ...timestamps(r, ctx),
      deleted_at: d?.twinOf ? ctx.asOf : null,
    };
  },
  write: {
    table: "users",
    conflictDetail: `jsonb_build_object('rule', 'one live account per phone and role / e-mail and role', 'phone', i.phone, 'role', i.role)`,
  },
});

const blockedIdentifiers = tableStep({
  name: "blocked_identifiers",
  select: (ctx) => `s.id, s.identifier_type, s.identifier_value, s.role, s.reason, s.metadata, s.blocked_by,
                    ${at(ctx, "s.blocked_at", "exact")} AS created_at, ${at(ctx, "s.updated_at", "exact")} AS updated_at`,
  map: (r, ctx, note) => {
    const raw = String(r.identifier_value);
    const role = ["user", "provider", "admin"].includes(String(r.role)) ? String(r.role) : null;
    if (role === null) note("unknown_role_blocks_all_roles", "corrected", { role: r.role });
    return {
      id: r.id,
      identifier_type: r.identifier_type,
      value: r.identifier_type === "phone" ? (importPhone(raw) ?? raw.trim()) : raw.trim().toLowerCase(),
      role,
      reason: str(r.reason) ?? "Blocked on the old server",
      blocked_by: r.blocked_by,
      metadata: jsonObject(r.metadata),
      ...timestamps(r, ctx, r.updated_at),
    };
  },
  write: {
    table: "blocked_identifiers",
    // A block outlives the admin who made it.
    exprs: { blocked_by: `CASE WHEN ${exists("users", "blocked_by")} THEN i.blocked_by END` },
    conflictDetail: `jsonb_build_object('rule', 'one block per identifier and role', 'value', i.value)`,
  },
});

const addresses = tableStep({
  name: "addresses",
  select: (ctx) => `s.id, s.user_id, s.type, s.state, s.city, s.full_address, s.pincode, ${at(ctx, "s.created_at")} AS created_at`,
  /** Every service registration added another `home` row; the newest is the provider's current one. */
  prepass: (src) =>
    losers(
      src,
      `SELECT id, first_value(id) OVER (PARTITION BY user_id ORDER BY created_at DESC NULLS LAST, id DESC) AS kept
         FROM addresses WHERE coalesce(type, 'home') = 'home' AND user_id IS NOT NULL`,
    ),
  map: (r, ctx, note) => {
    if (r.user_id === null) return note("orphan_without_user", "skipped");
    const d = ctx.decisions.get("addresses")!.get(String(r.id));
    if (d) return note("duplicate_home_address", "skipped", { keptAddress: d.kept });
    const { user_id, type, state, city, full_address, pincode } = r;
    return { id: r.id, user_id, type: type ?? "home", state, city, full_address, pincode, ...timestamps(r, ctx) };
  },
  write: {
    table: "addresses",
    cacheTriggers: ["addresses_listings_version"],
    parentsExist: () => exists("users", "user_id"),
    orphanDetail: `jsonb_build_object('user', i.user_id)`,
    conflictDetail: `jsonb_build_object('rule', 'one home address per user')`,
  },
});

const notificationSettings = tableStep({
  name: "user_notification_settings",
  select: (ctx) => `s.id, s.user_id, s.settings, ${at(ctx, "s.updated_at")} AS updated_at`,
  map: (r, ctx, note) => {
    if (r.user_id === null) return note("orphan_without_user", "skipped");
    const s = jsonObject(r.settings);
    const flag = (k: string, dflt: boolean) => (typeof s[k] === "boolean" ? s[k] : dflt);
    return {
      user_id: r.user_id,
      booking_updates: flag("booking_updates", true),
      reminders: flag("reminders", true),
      promotional: flag("promotional", false),
      sound_enabled: flag("sound_enabled", true),
      vibration_enabled: flag("vibration_enabled", true),
      updated_at: toIso(r.updated_at) ?? ctx.asOf,
    };
  },
  write: {
    table: "notification_settings",
    key: "user_id",
    parentsExist: () => exists("users", "user_id"),
    orphanDetail: `jsonb_build_object('user', i.user_id)`,
  },
});

const pushTokens = tableStep({
  name: "user_push_tokens",
  select: (ctx) => `s.id, s.user_id, s.push_token, s.device_info, s.is_active, ${at(ctx, "s.created_at")} AS created_at,
                    ${at(ctx, "s.last_seen")} AS last_seen`,
  /** A device token stayed active under every user who ever registered it; it belongs to the latest. */
  prepass: (src) =>
    losers(
      src,
      `SELECT id, first_value(id) OVER (PARTITION BY push_token ORDER BY is_active DESC NULLS LAST, last_seen DESC NULLS LAST, id) AS kept
         FROM user_push_tokens WHERE push_token IN (SELECT push_token FROM user_push_tokens GROUP BY 1 HAVING count(*) > 1)`,
    ),
  map: (r, ctx, note) => {
    if (r.user_id === null) return note("orphan_without_user", "skipped");
    const d = ctx.decisions.get("user_push_tokens")!.get(String(r.id));
    if (d) return note("token_registered_by_another_user", "skipped", { keptRegistration: d.kept });
    const { created_at, updated_at } = timestamps(r, ctx, r.last_seen);
    const active = r.is_active !== false;
    return {
      id: r.id,
      user_id: r.user_id,
      token: r.push_token,
      device_info: jsonObject(r.device_info),
      is_active: active,
      deactivated_reason: active ? null : "inactive_on_old_server",
      created_at,
      last_used_at: updated_at,
      updated_at,
    };
  },
  write: {
    table: "push_tokens",
    parentsExist: () => exists("users", "user_id"),
    orphanDetail: `jsonb_build_object('user', i.user_id)`,
    conflictDetail: `jsonb_build_object('rule', 'a device token belongs to one user')`,
  },
});

// ---------------------------------------------------------------------------------------------
// Providers and listings

const providerProfiles = tableStep({
  name: "provider_profiles",
  select: (ctx) => `s.id, s.user_id, s.years_of_experience, s.is_engineering_provider, s.engineering_certificate_url,
                    ${at(ctx, "s.created_at")} AS created_at`,
  map: (r, ctx, note) => {
    if (r.user_id === null) return note("orphan_without_user", "skipped");
    let years = r.years_of_experience === null ? 0 : Number(r.years_of_experience);
    if (!Number.isInteger(years) || years < 0 || years > 80) {
      note("experience_out_of_range", "corrected", { from: r.years_of_experience });
      years = Math.min(80, Math.max(0, Math.trunc(years) || 0));
    }
    return {
      id: r.id,
      user_id: r.user_id,
      years_of_experience: years,
      is_engineering_provider: r.is_engineering_provider === true,
      engineering_certificate_url: str(r.engineering_certificate_url) || null,
      ...timestamps(r, ctx),
    };
  },
  write: {
    table: "provider_profiles",
    parentsExist: () => exists("users", "user_id"),
    orphanDetail: `jsonb_build_object('user', i.user_id)`,
    conflictDetail: `jsonb_build_object('rule', 'one profile per user')`,
  },
});

/** Our listing (status and paid window) for an old `provider_services` row. */
export function listingWindow(
  r: Row,
  ctx: Ctx,
  validityDays: number,
): { status: string; activatedAt: string | null; expiresAt: string | null; issue?: string } {
  const start = str(r.payment_start_date);
  const end = str(r.payment_end_date);
  const ordered = (a: string | null, e: string | null) => (a && e && Date.parse(e) > Date.parse(a) ? { a, e } : null);
  const window = () => {
    const e = end ? endOfIstDay(end) : null;
    const a = start ? startOfIstDay(start) : e ? addDays(e, -validityDays) : null;
    return ordered(a, e);
  };
  switch (r.payment_status) {
    case "active": {
      if (!end) return { status: "expired", activatedAt: null, expiresAt: null, issue: "active_without_end_date" };
      if (end < ctx.today) {
        // The old expiry job (payment_end_date < CURRENT_DATE) had not run yet; nothing is lost.
        const w = window();
        return { status: "expired", activatedAt: w?.a ?? null, expiresAt: w?.e ?? null };
      }
      const e = endOfIstDay(end);
      const w = window();
      if (w) return { status: "active", activatedAt: w.a, expiresAt: w.e };
      return { status: "active", activatedAt: addDays(e, -validityDays), expiresAt: e, issue: "start_after_end" };
    }
    case "expired": {
      const w = window();
      return { status: "expired", activatedAt: w?.a ?? null, expiresAt: w?.e ?? null };
    }
    case "pending": {
      const w = window();
      return { status: "pending", activatedAt: w?.a ?? null, expiresAt: w?.e ?? null };
    }
    default:
      return { status: "pending", activatedAt: null, expiresAt: null, issue: "missing_status" };
  }
}

const providerServices = tableStep({
  name: "provider_services",
  select: (ctx) => `s.id, s.provider_id, sm.name AS service_name, s.working_proof_urls, s.payment_status,
                    s.payment_start_date::text AS payment_start_date, s.payment_end_date::text AS payment_end_date,
                    pp.service_description, ${at(ctx, "s.created_at")} AS created_at`,
  joins: "LEFT JOIN services_master sm ON sm.id = s.service_id LEFT JOIN provider_profiles pp ON pp.id = s.provider_id",
  /**
   * One provider registered twice in one category (no unique key upstream). The listing
   * that is active, then paid furthest, then oldest stays; the others are imported deleted so their
   * bookings and payments keep their listing.
   */
  prepass: (src) =>
    losers(
      src,
      `SELECT id, first_value(id) OVER (PARTITION BY provider_id, service_id
                ORDER BY (payment_status = 'active') DESC NULLS LAST, payment_end_date DESC NULLS LAST, created_at NULLS LAST, id) AS kept
         FROM provider_services WHERE provider_id IS NOT NULL`,
    ),
  map: (r, ctx, note) => {
    if (r.provider_id === null) return note("orphan_without_provider", "skipped");
    const service = ctx.catalogue.services.get(String(r.service_name));
    if (!service) return note("unknown_category", "skipped", { category: r.service_name });
    const w = listingWindow(r, ctx, service.validityDays);
    if (w.issue) note(w.issue, "corrected", { status: r.payment_status, from: [r.payment_start_date, r.payment_end_date], to: w.status });
    const d = ctx.decisions.get("provider_services")!.get(String(r.id));
    if (d)
      note("duplicate_listing", "imported_as_deleted", { keptListing: d.kept, status: r.payment_status, paidThrough: r.payment_end_date });
    return {
      id: r.id,
      provider_id: r.provider_id,
      service_id: service.id,
      status: d ? "deleted" : w.status,
      service_description: str(r.service_description) ?? "",
      working_proof_urls: Array.isArray(r.working_proof_urls) ? r.working_proof_urls : [],
      activated_at: w.activatedAt,
      expires_at: w.expiresAt,
      ...timestamps(r, ctx),
      deleted_at: d ? ctx.asOf : null,
    };
  },
  write: {
    table: "provider_services",
    cacheTriggers: ["provider_services_listings_version"],
    parentsExist: () => exists("provider_profiles", "provider_id"),
    orphanDetail: `jsonb_build_object('providerProfile', i.provider_id)`,
    conflictDetail: `jsonb_build_object('rule', 'one live listing per provider and category')`,
  },
});

const providerSubServices = tableStep({
  name: "provider_sub_services",
  select: (ctx) => `s.id, s.provider_service_id, s.sub_service_id, s.price::text AS price, sm.name AS service_name,
                    ${at(ctx, "s.created_at")} AS created_at, ${at(ctx, "s.updated_at")} AS updated_at`,
  joins: "LEFT JOIN provider_services ps ON ps.id = s.provider_service_id LEFT JOIN services_master sm ON sm.id = ps.service_id",
  map: (r, ctx, note) => {
    const service = ctx.catalogue.services.get(String(r.service_name));
    if (!service) return note("parent_not_imported", "skipped", { listing: r.provider_service_id, category: r.service_name });
    const sub = r.sub_service_id === null ? undefined : ctx.catalogue.subs.get(`${service.id}:${r.sub_service_id}`);
    if (!sub) return note("unknown_sub_service", "skipped", { category: r.service_name, subService: r.sub_service_id });
    const price = paise(str(r.price));
    if (!price || price <= 0) return note("invalid_price", "skipped", { price: r.price });
    return {
      id: r.id,
      provider_service_id: r.provider_service_id,
      service_id: service.id,
      sub_service_id: sub.id,
      price_paise: price,
      ...timestamps(r, ctx, r.updated_at),
    };
  },
  write: {
    table: "provider_sub_services",
    cacheTriggers: ["provider_sub_services_listings_version"],
    parentsExist: () => exists("provider_services", "provider_service_id"),
    orphanDetail: `jsonb_build_object('listing', i.provider_service_id)`,
    conflictDetail: `jsonb_build_object('rule', 'one price per listing and sub-service')`,
  },
});

// ---------------------------------------------------------------------------------------------
// Bookings, ratings, reports, notifications

const STATUS_RANK = `CASE status WHEN 'completed' THEN 1 WHEN 'accepted' THEN 2 WHEN 'pending' THEN 3 WHEN 'rejected' THEN 4 ELSE 5 END`;

const bookings = tableStep({
  name: "bookings",
  select: (ctx) => `s.id, s.user_id, s.provider_service_id, s.provider_id, s.selected_service, s.appointment_date::text AS appointment_date,
                    s.appointment_time, s.address, s.description, s.status, s.rejection_reason, s.cancellation_reason,
                    s.is_viewed_by_user, s.is_viewed_by_provider, s.service_charge_value::text AS service_charge_value,
                    ${at(ctx, "s.created_at")} AS created_at, ${at(ctx, "s.updated_at")} AS updated_at,
                    ps.provider_id AS listing_provider_id, sm.name AS service_name,
                    (SELECT jsonb_object_agg(x.sub_service_id, x.price) FROM provider_sub_services x
                      WHERE x.provider_service_id = s.provider_service_id AND x.sub_service_id IS NOT NULL) AS prices`,
  joins: "LEFT JOIN provider_services ps ON ps.id = s.provider_service_id LEFT JOIN services_master sm ON sm.id = ps.service_id",
  /**
   * App retries: booking creation answered 500 after committing and its duplicate check never
   * matched, so one tap became several identical rows (customer, listing, date, time and
   * services). The one that got furthest (completed, accepted, ...; then the first) stays.
   */
  prepass: (src) =>
    losers(
      src,
      `SELECT id, first_value(id) OVER (
                PARTITION BY user_id, provider_service_id, appointment_date, lower(btrim(appointment_time)), coalesce(selected_service, '')
                ORDER BY ${STATUS_RANK}, created_at NULLS LAST, id) AS kept
         FROM bookings WHERE user_id IS NOT NULL AND provider_service_id IS NOT NULL`,
    ),
  map: (r, ctx, note) => {
    const skip = (reason: string, detail: Record<string, unknown> = {}) => note(reason, "skipped", { status: r.status, ...detail });
    if (r.user_id === null) return skip("orphan_customer_deleted");
    if (r.provider_service_id === null || r.provider_id === null)
      return skip("orphan_listing_deleted", { listing: r.provider_service_id, provider: r.provider_id });
    if (r.listing_provider_id !== r.provider_id)
      return skip("provider_does_not_own_listing", { provider: r.provider_id, listingProvider: r.listing_provider_id });
    const d = ctx.decisions.get("bookings")!.get(String(r.id));
    if (d) return skip("duplicate_booking_app_retry", { keptBooking: d.kept });
    // Each reason field is written by exactly one transition; one beside another final status
    // means the old server let the booking move on from it, which our lifecycle forbids.
    const status = str(r.status);
    if (
      status === null ||
      (r.rejection_reason !== null && status !== "rejected") ||
      (r.cancellation_reason !== null && status !== "cancelled")
    ) {
      const explanation =
        status === null ? "no status" : r.rejection_reason !== null ? `rejected, then ${status}` : `cancelled, then ${status}`;
      return skip("impossible_status_sequence", {
        rejectionReason: r.rejection_reason,
        cancellationReason: r.cancellation_reason,
        explanation,
      });
    }
    const date = str(r.appointment_date);
    const minutes = parseClock(String(r.appointment_time ?? ""));
    if (!date || minutes === null) return skip("unparsable_appointment", { date, time: r.appointment_time });
    const service = ctx.catalogue.services.get(String(r.service_name));
    const prices = jsonObject(r.prices);
    const items: Array<{ subServiceId: string; slug: string; name: string; pricePaise: number }> = [];
    const unknown: string[] = [];
    for (const slug of new Set(
      String(r.selected_service ?? "")
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )) {
      const sub = service && ctx.catalogue.subs.get(`${service.id}:${slug}`);
      if (sub) items.push({ subServiceId: sub.id, slug, name: sub.name, pricePaise: paise(str(prices[slug])) ?? 0 });
      else unknown.push(slug);
    }
    if (!items.length) return skip("unknown_sub_services", { selected: r.selected_service, category: r.service_name });
    if (unknown.length) note("unknown_sub_services_dropped", "corrected", { status, dropped: unknown });
    let total = paise(str(r.service_charge_value)) ?? 0;
    if (total <= 0) {
      // Upstream froze 0 when no price matched; the provider's prices are the best evidence.
      total = items.reduce((sum, i) => sum + i.pricePaise, 0);
      if (total <= 0) return skip("booking_without_price", { serviceChargeValue: r.service_charge_value });
      note("missing_frozen_price", "corrected", { status, serviceChargeValue: r.service_charge_value, toPaise: total });
    }
    const { created_at, updated_at } = timestamps(r, ctx, r.updated_at);
    // The old server kept one updated_at: the time of the last transition.
    const stamp = (s: string) => (status === s ? updated_at : null);
    return {
      id: r.id,
      customer_id: r.user_id,
      provider_service_id: r.provider_service_id,
      provider_id: r.provider_id,
      selected_sub_services: items,
      total_price_paise: total,
      appointment_at: appointmentInstant(date, minutes),
      appointment_date: date,
      appointment_time: formatClock(minutes),
      address: r.address,
      description: r.description,
      status,
      rejection_reason: r.rejection_reason,
      cancellation_reason: r.cancellation_reason,
      viewed_by_customer: r.is_viewed_by_user !== false,
      viewed_by_provider: r.is_viewed_by_provider !== false,
      accepted_at: stamp("accepted"),
      rejected_at: stamp("rejected"),
      cancelled_at: stamp("cancelled"),
      completed_at: stamp("completed"),
      created_at,
      updated_at,
    };
  },
  write: {
    table: "bookings",
    parentsExist: () => `${exists("users", "customer_id")} AND ${exists("provider_services", "provider_service_id")}`,
    orphanDetail: `jsonb_build_object('status', i.status, 'customerImported', ${exists("users", "customer_id")},
                     'listingImported', ${exists("provider_services", "provider_service_id")})`,
    conflictDetail: `jsonb_build_object('status', i.status, 'rule',
      CASE WHEN i.status = 'accepted' AND (
             EXISTS (SELECT 1 FROM bookings o WHERE o.provider_id = i.provider_id AND o.appointment_at = i.appointment_at AND o.status = 'accepted')
          OR EXISTS (SELECT 1 FROM in_0 o WHERE o.provider_id = i.provider_id AND o.appointment_at = i.appointment_at AND o.status = 'accepted' AND o.id <> i.id))
           THEN 'the provider already has an accepted booking for this slot'
           ELSE 'the customer already has an open booking of this listing for this slot' END)`,
  },
});

const ratings = tableStep({
  name: "ratings",
  select: (ctx) => `s.id, s.booking_id, s.rating, s.review, s.rater_type, ${at(ctx, "s.created_at")} AS created_at,
                    b.user_id AS customer_id, b.status AS booking_status, pp.user_id AS provider_user_id`,
  joins: "LEFT JOIN bookings b ON b.id = s.booking_id LEFT JOIN provider_profiles pp ON pp.id = b.provider_id",
  map: (r, ctx, note) => {
    if (r.booking_id === null) return note("orphan_without_booking", "skipped");
    const value = r.rating === null ? null : Number(r.rating);
    if (value === null || !Number.isInteger(value) || value < 1 || value > 5)
      return note("invalid_rating", "skipped", { rating: r.rating });
    const byCustomer = r.rater_type === "user";
    // Customers could only rate completed bookings, and nothing moves a booking out of completed.
    if (byCustomer && r.booking_status !== "completed")
      return note("impossible_status_sequence", "skipped", { explanation: `customer rating on a ${r.booking_status} booking` });
    if (r.customer_id === null || r.provider_user_id === null)
      return note("parent_not_imported", "skipped", { booking: r.booking_id, explanation: "the booking lost its customer or provider" });
    let review = str(r.review);
    if (review && review.length > 500) {
      note("review_truncated", "corrected", { length: review.length });
      review = review.slice(0, 500);
    }
    return {
      id: r.id,
      booking_id: r.booking_id,
      direction: byCustomer ? "customer_to_provider" : "provider_to_customer",
      rater_id: byCustomer ? r.customer_id : r.provider_user_id,
      ratee_id: byCustomer ? r.provider_user_id : r.customer_id,
      rating: value,
      review,
      ...timestamps(r, ctx),
    };
  },
  write: {
    table: "ratings",
    cacheTriggers: ["ratings_listings_version"],
    parentsExist: () => `${exists("bookings", "booking_id")} AND ${exists("users", "rater_id")} AND ${exists("users", "ratee_id")}`,
    orphanDetail: `jsonb_build_object('booking', i.booking_id, 'bookingImported', ${exists("bookings", "booking_id")})`,
    conflictDetail: `jsonb_build_object('rule', 'one rating per booking and direction')`,
  },
});

function evidenceList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
  return [typeof v === "string" ? v : JSON.stringify(v)];
}

function report(r: Row, ctx: Ctx, note: Note): Record<string, unknown> {
  let status = str(r.status);
  if (!["open", "resolved", "closed"].includes(status ?? "")) {
    // An admin status change without a body set NULL and hid the report.
    note("missing_status", "corrected", { status, to: "open" });
    status = "open";
  }
  const { incident_date, incident_time, incident_type, description } = r;
  return {
    id: r.id,
    incident_date,
    incident_time,
    incident_type,
    description,
    evidence: evidenceList(r.evidence),
    status,
    ...timestamps(r, ctx, r.updated_at),
  };
}

const REPORT_SELECT = (ctx: Ctx) => `s.id, s.incident_date::text AS incident_date, s.incident_time::text AS incident_time, s.incident_type,
  s.description, s.evidence, s.status, ${at(ctx, "s.created_at", "exact")} AS created_at, ${at(ctx, "s.updated_at", "exact")} AS updated_at`;

const userReports = tableStep({
  name: "user_reports_providers",
  // A customer's report was filed from a booking and copied onto it: the booking it came from
  // is found again by its parties, date and reason, so the app shows it on that booking.
  select: (ctx) => `${REPORT_SELECT(ctx)}, s.reported_by_user_id, s.reported_provider_id,
    (SELECT b.id FROM bookings b JOIN provider_profiles pp ON pp.id = b.provider_id
      WHERE b.user_id = s.reported_by_user_id AND pp.user_id = s.reported_provider_id
        AND b.appointment_date = s.incident_date AND b.report_reason = s.incident_type
      ORDER BY b.created_at, b.id LIMIT 1) AS booking_id`,
  map: (r, ctx, note) => ({
    ...report(r, ctx, note),
    reporter_id: r.reported_by_user_id,
    reported_provider_id: r.reported_provider_id,
    booking_id: r.booking_id,
  }),
  write: {
    table: "user_reports_providers",
    parentsExist: () => `${exists("users", "reporter_id")} AND ${exists("users", "reported_provider_id")}`,
    orphanDetail: `jsonb_build_object('reporter', i.reporter_id, 'provider', i.reported_provider_id)`,
    exprs: { booking_id: `CASE WHEN ${exists("bookings", "booking_id")} THEN i.booking_id END` },
    conflictDetail: `jsonb_build_object('rule', 'one report per booking')`,
  },
});

// customer_user_id was guessed by a name ILIKE: only the name is kept.
const providerReports = tableStep({
  name: "provider_reports_users",
  select: (ctx) => `${REPORT_SELECT(ctx)}, s.provider_id, s.customer_name`,
  map: (r, ctx, note) => ({ ...report(r, ctx, note), provider_id: r.provider_id, customer_name: r.customer_name }),
  write: {
    table: "provider_reports_users",
    parentsExist: () => exists("users", "provider_id"),
    orphanDetail: `jsonb_build_object('provider', i.provider_id)`,
  },
});

const notifications = tableStep({
  name: "notifications",
  select: (ctx) => `s.id, s.user_id, s.title, s.message, s.is_read, s.translation_params, ${at(ctx, "s.created_at")} AS created_at`,
  map: (r, ctx, note) => {
    if (r.user_id === null) return note("orphan_without_user", "skipped");
    const { created_at } = timestamps(r, ctx);
    return {
      id: r.id,
      user_id: r.user_id,
      title: str(r.title) ?? "",
      message: str(r.message) ?? "",
      type: "system",
      data: jsonObject(r.translation_params),
      read_at: r.is_read === true ? created_at : null,
      created_at,
    };
  },
  write: { table: "notifications", parentsExist: () => exists("users", "user_id"), orphanDetail: `jsonb_build_object('user', i.user_id)` },
});

// ---------------------------------------------------------------------------------------------
// Payments

const PAYTM_ORDER_ID = /^[A-Za-z0-9_@.-]{1,50}$/;
/** Quarantine details of a payment say what it meant for the ledger, so the paid-sum invariant can account for it. */
const ORDER_DETAIL = `jsonb_build_object('amountPaise', i.amount_paise, 'status', i.status)`;

/**
 * Evidence that Paytm took the money, from what the old server logged: the order-status response it
 * stored on the row, logged in payment_api_logs, or summarised in a payment event. SQL over `t` (the
 * transaction), `${events}` (its events table) and, for listing fees, payment_api_logs.
 */
function successEvidenceSql(events: string, apiLogs: boolean): string {
  const api = apiLogs
    ? `(SELECT jsonb_build_object('source', 'payment_api_logs', 'txnId', l.response_body->>'TXNID', 'amount', l.response_body->>'TXNAMOUNT',
              'at', ${instantSql('l."timestamp"', "ist", "UTC")})
          FROM payment_api_logs l WHERE l.payment_transaction_id = t.id AND l.response_body->>'STATUS' = 'TXN_SUCCESS'
         ORDER BY l."timestamp" DESC LIMIT 1)`
    : "NULL::jsonb";
  return `coalesce(
    CASE WHEN coalesce(t.payment_gateway_response->>'STATUS', t.payment_gateway_response#>>'{paytmResponse,STATUS}') = 'TXN_SUCCESS'
         THEN jsonb_build_object('source', 'payment_gateway_response',
              'txnId', coalesce(t.payment_gateway_response->>'TXNID', t.payment_gateway_response#>>'{paytmResponse,TXNID}'),
              'amount', coalesce(t.payment_gateway_response->>'TXNAMOUNT', t.payment_gateway_response#>>'{paytmResponse,TXNAMOUNT}')) END,
    ${api},
    (SELECT jsonb_build_object('source', '${events}', 'txnId', coalesce(e.event_data->>'paytmTransactionId', e.event_data->>'TXNID'),
            'amount', coalesce(e.event_data->>'amount', e.event_data->>'TXNAMOUNT'), 'at', ${instantSql('e."timestamp"', "ist", "UTC")})
       FROM ${events} e WHERE e.payment_transaction_id = t.id
        AND (e.event_data->>'STATUS' = 'TXN_SUCCESS' OR (e.event_type LIKE '%verification_completed' AND e.event_data->>'success' = 'true'))
      ORDER BY e."timestamp" DESC LIMIT 1))`;
}

type OrderPlan = { row: Record<string, unknown> & { _sid: string }; paid: boolean; entries: QuarantineEntry[] } | { skip: QuarantineEntry };

/** One old transaction (either table) as a payment order. */
function planOrder(
  r: Row,
  ctx: Ctx,
  o: { sourceTable: string; purpose: "listing_fee" | "labour_access"; validityDays: number; superseded: boolean },
): OrderPlan {
  const id = String(r.id);
  const amount = paise(str(r.amount)) ?? 0;
  const base = { amountPaise: amount, status: r.status };
  const skip = (reason: string, detail: Record<string, unknown> = {}): OrderPlan => ({
    skip: entry(o.sourceTable, id, reason, "skipped", { ...base, paid: r.status === "completed", ...detail }),
  });
  if (r.user_id === null) return skip("orphan_without_user");
  if (o.purpose === "listing_fee" && r.provider_service_id === null) return skip("listing_payment_without_listing");
  if (!PAYTM_ORDER_ID.test(String(r.order_id))) return skip("invalid_order_id", { orderId: r.order_id });
  if (amount <= 0) return skip("invalid_amount", { amount: r.amount });
  if ((str(r.currency_code) ?? "INR").trim() !== "INR") return skip("unsupported_currency", { currency: r.currency_code });
  const entries: QuarantineEntry[] = [];
  const createdAt = toIso(r.created_at) ?? ctx.asOf;
  const updatedAt = toIso(r.updated_at) ?? createdAt;
  const completedAt = toIso(r.completed_at);
  const gw = jsonObject(r.payment_gateway_response);
  const evidence = r.success_evidence ? jsonObject(r.success_evidence) : null;
  let status: string;
  let txnId = str(r.transaction_id);
  let paidAt: string | null = null;
  let activatedAt: string | null = null;
  let failedAt: string | null = null;
  switch (r.status) {
    case "completed":
      status = "paid";
      paidAt = completedAt ?? updatedAt;
      activatedAt = paidAt; // the old server granted it when it marked it completed
      if (!txnId && evidence?.txnId) txnId = String(evidence.txnId);
      if (!txnId) {
        txnId = `LEGACY-${r.order_id}`;
        entries.push(entry(o.sourceTable, id, "paid_without_gateway_txn_id", "corrected", { ...base, to: txnId }));
      }
      break;
    case "failed":
    case "pending":
    case null: {
      const evidenceAmount = evidence?.amount === undefined || evidence?.amount === null ? null : paise(String(evidence.amount));
      if (evidence?.txnId && (evidenceAmount === null || evidenceAmount === amount)) {
        // Paytm took the money but the old server recorded a failure (network error, PENDING).
        // Real money wins: the order is paid. It was never delivered, so a refund request is open to the payer.
        status = "paid";
        txnId = String(evidence.txnId);
        paidAt = toIso(evidence.at) ?? updatedAt;
        entries.push(entry(o.sourceTable, id, "failed_but_paid_at_paytm", "corrected", { ...base, to: "paid", evidence, paid: true }));
      } else if (evidence) {
        status = r.status === "failed" ? "failed" : "pending";
        entries.push(entry(o.sourceTable, id, "paytm_success_for_another_amount", "flagged", { ...base, evidence }));
      } else if (r.status === "failed") {
        status = "failed";
      } else {
        status = "pending";
      }
      if (status === "failed") failedAt = completedAt ?? updatedAt;
      if (status === "pending" && o.superseded) {
        // One open order per payer and listing: the newest stays open (and is settled with Paytm by
        // our reconciliation); older abandoned ones close.
        status = "expired";
        entries.push(entry(o.sourceTable, id, "superseded_open_order", "corrected", { ...base, to: "expired" }));
      }
      if (status === "pending") txnId = null;
      break;
    }
    default:
      return skip("unknown_status");
  }
  return {
    paid: status === "paid",
    entries,
    row: {
      _sid: id,
      id,
      paytm_order_id: r.order_id,
      user_id: r.user_id,
      purpose: o.purpose,
      provider_service_id: o.purpose === "listing_fee" ? r.provider_service_id : null,
      amount_paise: amount,
      currency: "INR",
      validity_days: o.validityDays,
      status,
      expires_at: addDays(createdAt, 1 / 48), // 30 minutes: an abandoned order past it gets settled by reconciliation
      gateway_txn_id: status === "paid" || status === "failed" ? txnId : null,
      gateway_result_code: str(gw.RESPCODE ?? (gw.paytmResponse as Row | undefined)?.RESPCODE),
      gateway_result_msg: str(gw.RESPMSG ?? (gw.paytmResponse as Row | undefined)?.RESPMSG),
      paid_at: paidAt,
      failed_at: failedAt,
      activated_at: activatedAt,
      granted_from: null,
      granted_until: null,
      client_info: {
        ip: r.ip_address,
        userAgent: r.user_agent,
        device: r.device_info,
        legacy: { paymentFlowId: r.payment_flow_id, serviceName: r.service_name, errorDetails: r.error_details ?? undefined },
      },
      created_at: createdAt,
      updated_at: updatedAt,
    },
  };
}

const TXN_SELECT = (
  ctx: Ctx,
) => `t.id, t.order_id, t.user_id, t.amount::text AS amount, t.status, t.transaction_id, t.payment_gateway_response,
  t.error_details, t.payment_flow_id, t.user_agent, host(t.ip_address) AS ip_address, t.device_info, t.service_name,
  ${at(ctx, "t.created_at")} AS created_at, ${at(ctx, "t.updated_at")} AS updated_at, ${at(ctx, "t.completed_at")} AS completed_at`;

const listingPayments = tableStep({
  name: "payment_transactions",
  alias: "t",
  select: (ctx) => `${TXN_SELECT(ctx)}, t.provider_service_id, t.currency_code, sm.name AS listing_category,
                    ${successEvidenceSql("payment_events", true)} AS success_evidence`,
  joins: "LEFT JOIN provider_services ps ON ps.id = t.provider_service_id LEFT JOIN services_master sm ON sm.id = ps.service_id",
  /** One open order per payer and listing: the newest of several stays open. */
  prepass: (src) =>
    losers(
      src,
      `SELECT id, first_value(id) OVER (PARTITION BY user_id, provider_service_id ORDER BY created_at DESC NULLS LAST, id DESC) AS kept
         FROM payment_transactions WHERE status = 'pending' OR status IS NULL`,
    ),
  map: (r, ctx, note) => {
    const plan = planOrder(r, ctx, {
      sourceTable: "payment_transactions",
      purpose: "listing_fee",
      validityDays: ctx.catalogue.services.get(String(r.listing_category))?.validityDays ?? 30,
      superseded: ctx.decisions.get("payment_transactions")!.has(String(r.id)),
    });
    const entries = "skip" in plan ? [plan.skip] : plan.entries;
    for (const e of entries) note(e.reason, e.action, e.detail);
    if ("skip" in plan) return null;
    const { _sid, ...row } = plan.row;
    return row;
  },
  write: {
    table: "payment_orders",
    parentsExist: () => `${exists("users", "user_id")} AND ${exists("provider_services", "provider_service_id")}`,
    orphanDetail: ORDER_DETAIL,
    conflictDetail: `${ORDER_DETAIL} || jsonb_build_object('rule', 'unique Paytm order id / transaction id, one open order per listing')`,
  },
});

/** Labour payments that lost their user (inserted without one; the FK cascade removes the rest). */
const labourOrphans: Step = {
  name: "labour_payment_transactions:orphans",
  sourceTable: "labour_payment_transactions",
  countSql: "SELECT count(*) FROM labour_payment_transactions WHERE user_id IS NULL",
  readSql: (_ctx, first) =>
    page("t.id, t.status, t.amount::text AS amount", "labour_payment_transactions t", "t", first, "t.user_id IS NULL"),
  keyOf: (r) => String(r.id),
  transform: (rows) => ({
    writes: [],
    quarantine: rows.map((r) =>
      entry("labour_payment_transactions", r.id, "orphan_without_user", "skipped", {
        amountPaise: paise(str(r.amount)),
        status: r.status,
        paid: r.status === "completed",
      }),
    ),
  }),
};

/**
 * Labour access, one customer at a time: their labour payments become paid orders, and the paid ones
 * the access windows they bought, rebuilt the way the old server extended them (a payment while
 * access ran started where it ended). The customer's stored window is the authority for the
 * last one: access active on the old server stays active until the same instant.
 */
const labour: Step = {
  name: "labour_payments_by_customer",
  sourceTable: "labour_payment_transactions",
  countSql: `SELECT count(*) FROM users u WHERE u.labour_access_end_date IS NOT NULL
               OR EXISTS (SELECT 1 FROM labour_payment_transactions t WHERE t.user_id = u.id)`,
  readSql: (ctx, first) =>
    page(
      `u.id, u.labour_access_status, ${at(ctx, "u.labour_access_start_date", "node")} AS access_start,
       ${at(ctx, "u.labour_access_end_date", "node")} AS access_end,
       coalesce((SELECT jsonb_agg(to_jsonb(x) ORDER BY coalesce(x.completed_at, x.created_at), x.id) FROM (
         SELECT ${TXN_SELECT(ctx)}, 'INR' AS currency_code, NULL::uuid AS provider_service_id,
                ${successEvidenceSql("labour_payment_events", false)} AS success_evidence
           FROM labour_payment_transactions t WHERE t.user_id = u.id) x), '[]'::jsonb) AS payments`,
      "users u",
      "u",
      first,
      "u.labour_access_end_date IS NOT NULL OR EXISTS (SELECT 1 FROM labour_payment_transactions t WHERE t.user_id = u.id)",
    ),
  keyOf: (r) => String(r.id),
  transform: (rows, ctx) => {
    const out: Output = { writes: [], quarantine: [] };
    const orders: TableWrite["rows"] = [];
    const windows: TableWrite["rows"] = [];
    const asOf = Date.parse(ctx.asOf);
    for (const u of rows) {
      const userId = String(u.id);
      const payments = (Array.isArray(u.payments) ? u.payments : []) as Row[];
      const plans: Array<{ row: Record<string, unknown> & { _sid: string }; paid: boolean }> = [];
      let newestOpen: string | null = null;
      for (const p of payments) if (p.status === "pending" || p.status === null) newestOpen = String(p.id);
      for (const p of payments) {
        const superseded = (p.status === "pending" || p.status === null) && String(p.id) !== newestOpen;
        const plan = planOrder({ ...p, created_at: p.created_at, user_id: userId }, ctx, {
          sourceTable: "labour_payment_transactions",
          purpose: "labour_access",
          validityDays: 7,
          superseded,
        });
        if ("skip" in plan) {
          out.quarantine.push(plan.skip);
          continue;
        }
        out.quarantine.push(...plan.entries);
        plans.push(plan);
        orders.push(plan.row);
      }
      // Windows as the old server granted them: from the payment, or from the running window's end.
      const delivered = plans.filter((p) => p.paid && p.row.activated_at !== null);
      const grants: Array<{ order: Record<string, unknown>; from: string; until: string }> = [];
      let end: string | null = null;
      for (const p of delivered) {
        const paidAt = String(p.row.paid_at);
        const from: string = end && Date.parse(end) > Date.parse(paidAt) ? end : paidAt;
        end = addDays(from, 7);
        grants.push({ order: p.row, from, until: end });
      }
      const storedEnd = toIso(u.access_end);
      const storedStart = toIso(u.access_start);
      const activeOld = u.labour_access_status === "active" && storedEnd !== null && Date.parse(storedEnd) > asOf;
      const last = grants.at(-1);
      if (last && storedEnd) {
        // The stored window is what the customer saw; the last payment bought it.
        last.until = storedEnd;
        last.from = storedStart && Date.parse(storedStart) < Date.parse(storedEnd) ? storedStart : addDays(storedEnd, -7);
        if (u.labour_access_status !== "active" && Date.parse(storedEnd) > asOf) {
          // Not active on the old server although the date runs on: access ends now, as it had there.
          last.until = ctx.asOf;
          out.quarantine.push(
            entry("users:labour_access", userId, "labour_access_end_without_status", "corrected", {
              status: u.labour_access_status,
              end: storedEnd,
              to: ctx.asOf,
            }),
          );
        }
        for (let i = grants.length - 2; i >= 0; i--) {
          const g = grants[i]!;
          const next = grants[i + 1]!;
          if (Date.parse(g.until) > Date.parse(next.from)) g.until = next.from;
        }
      } else if (activeOld) {
        out.quarantine.push(
          entry("users:labour_access", userId, "labour_access_without_payment", "skipped", {
            end: storedEnd,
            status: u.labour_access_status,
          }),
        );
      } else if (last && !storedEnd) {
        // Paid, but the old server never recorded access: the money bought nothing; the orders stay
        // paid and undelivered, so the customer can ask for a refund.
        for (const g of grants) g.order.activated_at = null;
        out.quarantine.push(
          entry("users:labour_access", userId, "paid_labour_access_never_granted", "flagged", { orders: grants.map((g) => g.order.id) }),
        );
        grants.length = 0;
      }
      for (const g of grants) {
        if (Date.parse(g.until) <= Date.parse(g.from)) {
          g.order.activated_at = null; // overtaken by a later window entirely
          continue;
        }
        g.order.granted_from = g.from;
        g.order.granted_until = g.until;
        windows.push({
          _sid: String(g.order.id),
          id: g.order.id,
          user_id: userId,
          order_id: g.order.id,
          starts_at: g.from,
          expires_at: g.until,
          created_at: g.order.paid_at,
        });
      }
    }
    out.writes.push(
      {
        table: "payment_orders",
        sourceTable: "labour_payment_transactions",
        rows: orders,
        parentsExist: () => exists("users", "user_id"),
        orphanDetail: ORDER_DETAIL,
        conflictDetail: `${ORDER_DETAIL} || jsonb_build_object('rule', 'unique Paytm order id / transaction id, one open labour order per customer')`,
      },
      {
        table: "labour_access",
        sourceTable: "labour_payment_transactions:access",
        rows: windows,
        parentsExist: (earlier) =>
          `(${exists("payment_orders", "order_id")} OR i.order_id IN ${earlier(0)}) AND ${exists("users", "user_id")}`,
        orphanDetail: `jsonb_build_object('labourAccessWindow', true, 'order', i.order_id)`,
        conflictDetail: `jsonb_build_object('rule', 'labour access windows of one customer never overlap', 'from', i.starts_at, 'until', i.expires_at)`,
      },
    );
    return out;
  },
};

function paymentEventsStep(name: "payment_events" | "labour_payment_events"): Step {
  return tableStep({
    name,
    select: (ctx) => `s.id, s.payment_transaction_id, s.event_type, s.event_data, ${at(ctx, 's."timestamp"')} AS created_at`,
    map: (r, ctx) => ({
      id: r.id,
      order_id: r.payment_transaction_id,
      source: "legacy",
      event_type: String(r.event_type),
      dedup_key: `legacy:${name}:${r.id}`,
      payload: jsonObject(r.event_data),
      created_at: toIso(r.created_at) ?? ctx.asOf,
    }),
    write: {
      table: "payment_events",
      parentsExist: () => `(i.order_id IS NULL OR ${exists("payment_orders", "order_id")})`,
      orphanDetail: `jsonb_build_object('order', i.order_id)`,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Calls

const CALL_STATUSES = new Set(["completed", "failed", "missed", "rejected"]);

const callLogs = tableStep({
  name: "call_logs",
  select: (ctx) => `s.id, s.booking_id, s.caller_type, s.call_status, s.call_duration, s.connection_quality, s.error_details, s.end_reason,
                    s.metrics, ${at(ctx, "s.created_at")} AS created_at, b.user_id AS customer_id, pp.user_id AS provider_user_id`,
  joins: "LEFT JOIN bookings b ON b.id = s.booking_id LEFT JOIN provider_profiles pp ON pp.id = b.provider_id",
  map: (r, ctx, note) => {
    const loggedBy = r.caller_type === "provider" ? r.provider_user_id : r.customer_id;
    if (r.booking_id === null || loggedBy === null || loggedBy === undefined)
      return note("parent_not_imported", "skipped", { booking: r.booking_id });
    let status = String(r.call_status ?? "");
    if (!CALL_STATUSES.has(status)) {
      // The old /log route did not apply its validator: e.g. `initiated` for a call never connected.
      note("call_status_mapped", "corrected", { from: r.call_status, to: "failed" });
      status = "failed";
    }
    const { connection_quality, error_details, end_reason, metrics } = r;
    return {
      id: r.id,
      booking_id: r.booking_id,
      logged_by: loggedBy,
      caller_role: r.caller_type,
      status,
      duration_seconds: Math.min(86_400, Math.max(0, Math.trunc(Number(r.call_duration ?? 0)) || 0)),
      connection_quality,
      error_details,
      end_reason,
      metrics,
      created_at: toIso(r.created_at) ?? ctx.asOf,
    };
  },
  write: {
    table: "call_logs",
    parentsExist: () => `${exists("bookings", "booking_id")} AND ${exists("users", "logged_by")}`,
    orphanDetail: `jsonb_build_object('booking', i.booking_id)`,
  },
});

const callEvents = tableStep({
  name: "call_events",
  select: (ctx) => `s.id, s.call_log_id, s.event_type, s.event_data, ${at(ctx, 's."timestamp"')} AS created_at`,
  map: (r, ctx, note) => {
    if (r.call_log_id === null) return note("orphan_without_call_log", "skipped");
    return {
      id: r.id,
      call_log_id: r.call_log_id,
      event_type: r.event_type,
      data: jsonObject(r.event_data),
      created_at: toIso(r.created_at) ?? ctx.asOf,
    };
  },
  write: {
    table: "call_events",
    parentsExist: () => exists("call_logs", "call_log_id"),
    orphanDetail: `jsonb_build_object('callLog', i.call_log_id)`,
  },
});

/**
 * In dependency order. Not imported, on purpose: sessions, refresh tokens, the token blacklist and
 * login/security ledgers (everyone signs in again with their password), notification and push
 * queues and receipts (transient), payment and labour locks, the Twilio-era call sessions and
 * recordings, payment_api_logs and payment_security_events (read as evidence only), service_pricing
 * (never had rows; our catalogue carries the fee), and the migrations table.
 */
export const STEPS: Step[] = [
  users,
  blockedIdentifiers,
  addresses,
  notificationSettings,
  pushTokens,
  providerProfiles,
  providerServices,
  providerSubServices,
  bookings,
  ratings,
  userReports,
  providerReports,
  notifications,
  listingPayments,
  labourOrphans,
  labour,
  paymentEventsStep("payment_events"),
  paymentEventsStep("labour_payment_events"),
  callLogs,
  callEvents,
];
