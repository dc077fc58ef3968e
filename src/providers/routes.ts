import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { IdParam, ListBookingsQuery, ProviderStatusBody, RateBody, ReportCustomerBody } from "../bookings/schemas";
import { changeStatus, markAllViewed, providerBookings, providerUnreadCount, rateCustomer, reportCustomer } from "../bookings/service";
import { isoSql, num } from "../catalogue/shape";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { AppError, notFound } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body, params, query } from "../http/validate";
import { isOurUrl } from "../media/store";
import { dispatchAfterCommit } from "../outbox/outbox";

/** /api/providers: provider profile and the provider side of bookings. */
export const providersRoutes = new Hono<AppEnv>();

const tags = ["providers"];
const provider = requireAuth("provider");

/**
 * The provider's own profile (their own phone is theirs to see). Answers before the first service
 * registration too, from the account and home address; upstream returned 404 until then and the
 * app fell back to /api/users/profile.
 */
providersRoutes.get("/profile", describe({ summary: "My provider profile", tags, access: "provider" }), provider, async (c) => {
  const me = principalOf(c);
  const res = await c.get("db").http.execute(
    sql`select u.id, u.full_name, coalesce(u.email, '') as email, u.phone, u.profile_pic_url, u.is_verified,
               ${isoSql(sql`u.created_at`)} as created_at, pp.id as profile_id,
               coalesce(pp.years_of_experience, 0) as years_of_experience, coalesce(pp.is_engineering_provider, false) as is_engineering_provider,
               pp.engineering_certificate_url, coalesce(a.city, '') as city, coalesce(a.state, '') as state,
               coalesce(a.full_address, '') as full_address,
               (select count(*)::int from provider_services ps where ps.provider_id = pp.id and ps.status <> 'deleted') as registered_services_count
          from users u
          left join provider_profiles pp on pp.user_id = u.id
          left join addresses a on a.user_id = u.id and a.type = 'home'
         where u.id = ${me.userId}`,
  );
  const r = res.rows[0] as Record<string, unknown> | undefined;
  if (!r) throw notFound("Provider profile");
  const location = [r.city, r.state].filter((x) => typeof x === "string" && x).join(", ");
  return ok(c, {
    profile: {
      id: r.profile_id ?? null,
      user_id: r.id,
      full_name: String(r.full_name ?? ""),
      email: String(r.email ?? ""),
      phone: String(r.phone ?? ""),
      profile_pic_url: String(r.profile_pic_url ?? ""),
      is_verified: Boolean(r.is_verified),
      created_at: r.created_at,
      years_of_experience: num(r.years_of_experience),
      is_engineering_provider: Boolean(r.is_engineering_provider),
      engineering_certificate_url: r.engineering_certificate_url ?? null,
      city: r.city,
      state: r.state,
      full_address: r.full_address,
      location,
      registered_services_count: num(r.registered_services_count),
    },
  });
});

providersRoutes.get(
  "/bookings",
  describe({ summary: "Bookings of my listings (list and total in one query)", tags: [...tags, "bookings"], access: "provider" }),
  provider,
  query(ListBookingsQuery),
  async (c) => ok(c, await providerBookings(c.get("db").http, principalOf(c).userId, c.req.valid("query"))),
);

providersRoutes.get(
  "/bookings/unread-count",
  describe({ summary: "New or cancelled bookings not yet seen (badge)", tags: [...tags, "bookings"], access: "provider" }),
  provider,
  async (c) => ok(c, { unreadCount: await providerUnreadCount(c.get("db").http, principalOf(c).userId) }),
);

providersRoutes.put(
  "/bookings/mark-all-viewed",
  describe({ summary: "Clear the provider's bookings badge", tags: [...tags, "bookings"], access: "provider" }),
  provider,
  async (c) => {
    const updatedCount = await markAllViewed(c.get("db").http, "provider", principalOf(c).userId);
    if (updatedCount > 0) dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { updatedCount }, { message: updatedCount ? "All bookings marked as viewed" : "All bookings already viewed" });
  },
);

providersRoutes.put(
  "/bookings/:id/status",
  describe({
    summary: "Accept, reject or complete a booking (409 for any other transition)",
    tags: [...tags, "bookings"],
    access: "provider",
  }),
  provider,
  params(IdParam),
  body(ProviderStatusBody),
  async (c) => {
    const me = principalOf(c);
    const { id } = c.req.valid("param");
    const b = c.req.valid("json");
    const booking = await changeStatus(
      c.get("db"),
      { kind: "provider", userId: me.userId },
      id,
      b.status,
      b.rejectionReason?.trim() || undefined,
    );
    dispatchAfterCommit(c.env, c.executionCtx);
    // The app reads only status and message (optimistic UI); no second read of the booking.
    return ok(c, { booking: { id: booking.bookingId, status: booking.status } }, { message: `Booking ${b.status} successfully` });
  },
);

providersRoutes.post(
  "/bookings/:id/rate-customer",
  describe({ summary: "Rate the customer of an accepted or completed booking (once)", tags: [...tags, "ratings"], access: "provider" }),
  provider,
  params(IdParam),
  body(RateBody),
  async (c) => {
    const { id } = c.req.valid("param");
    const r = await rateCustomer(c.get("db"), principalOf(c).userId, id, c.req.valid("json"));
    if (r.created) dispatchAfterCommit(c.env, c.executionCtx);
    return ok(
      c,
      { bookingId: id, rating: c.req.valid("json").rating },
      {
        status: r.created ? 201 : 200,
        message: "Rating submitted successfully",
      },
    );
  },
);

providersRoutes.post(
  "/report-customer",
  describe({ summary: "Report a customer", tags: [...tags, "reports"], access: "provider" }),
  provider,
  body(ReportCustomerBody),
  async (c) => {
    const b = c.req.valid("json");
    const base = c.get("config").PUBLIC_BASE_URL;
    const insecure = b.evidence.findIndex((u) => !u.startsWith("https://") && !isOurUrl(u, base));
    if (insecure >= 0)
      throw new AppError("VALIDATION_ERROR", `evidence.${insecure}: must be an https URL`, {
        errors: [{ field: `evidence.${insecure}`, message: "must be an https URL" }],
      });
    const { reportId } = await reportCustomer(c.get("db"), principalOf(c).userId, {
      customerName: b.customerName,
      incidentDate: b.incidentDate,
      incidentTime: b.incidentTime ?? null,
      incidentType: b.incidentType,
      description: b.description,
      evidence: b.evidence,
    });
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { report: { id: reportId, status: "open" } }, { status: 201, message: "Customer report submitted successfully" });
  },
);
