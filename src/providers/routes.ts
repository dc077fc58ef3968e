import { Hono } from "hono";
import { rateCustomer, reportCustomer } from "../bookings/feedback";
import { markAllViewed, providerBookings, providerUnreadCount } from "../bookings/lists";
import {
  BookingStatusChangeData,
  CustomerReportData,
  IdParam,
  ListBookingsQuery,
  ProviderBookingsData,
  ProviderStatusBody,
  RateBody,
  RatingData,
  ReportCustomerBody,
  UnreadCountData,
  UpdatedCountData,
} from "../bookings/schemas";
import { changeStatus } from "../bookings/status";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body, params, query } from "../http/validate";
import { dispatchAfterCommit } from "../outbox/outbox";
import { ProviderProfileData } from "./schemas";
import { providerProfile } from "./service";

/** /api/providers: provider profile and the provider side of bookings. */
export const providersRoutes = new Hono<AppEnv>();

const tags = ["providers"];
const provider = requireAuth("provider");

providersRoutes.get("/profile", describe({ summary: "My provider profile", tags, response: ProviderProfileData }), provider, async (c) =>
  ok(c, await providerProfile(c.get("db").http, principalOf(c).userId)),
);

providersRoutes.get(
  "/bookings",
  describe({
    summary: "Bookings of my listings (list and total in one query)",
    tags: [...tags, "bookings"],
    response: ProviderBookingsData,
  }),
  provider,
  query(ListBookingsQuery),
  async (c) => ok(c, await providerBookings(c.get("db").http, principalOf(c).userId, c.req.valid("query"))),
);

providersRoutes.get(
  "/bookings/unread-count",
  describe({
    summary: "New or cancelled bookings not yet seen (badge)",
    tags: [...tags, "bookings"],
    response: UnreadCountData,
  }),
  provider,
  async (c) => ok(c, await providerUnreadCount(c.get("db").http, principalOf(c).userId)),
);

providersRoutes.put(
  "/bookings/mark-all-viewed",
  describe({ summary: "Clear the provider's bookings badge", tags: [...tags, "bookings"], response: UpdatedCountData }),
  provider,
  async (c) => {
    const updatedCount = await markAllViewed(c.get("db").http, "provider", principalOf(c).userId);
    if (updatedCount > 0) dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { updatedCount } satisfies UpdatedCountData, {
      message: updatedCount ? "All bookings marked as viewed" : "All bookings already viewed",
    });
  },
);

providersRoutes.put(
  "/bookings/:id/status",
  describe({
    summary: "Accept, reject or complete a booking (409 for any other transition)",
    tags: [...tags, "bookings"],
    response: BookingStatusChangeData,
  }),
  provider,
  params(IdParam),
  body(ProviderStatusBody),
  async (c) => {
    const b = c.req.valid("json");
    const changed = await changeStatus(
      c.get("db"),
      { kind: "provider", userId: principalOf(c).userId },
      c.req.valid("param").id,
      b.status,
      b.rejectionReason?.trim() || undefined,
    );
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, changed, { message: `Booking ${b.status} successfully` });
  },
);

providersRoutes.post(
  "/bookings/:id/rate-customer",
  describe({
    summary: "Rate the customer of an accepted or completed booking (once)",
    tags: [...tags, "ratings"],
    response: RatingData,
    status: [201, 200],
  }),
  provider,
  params(IdParam),
  body(RateBody),
  async (c) => {
    const r = await rateCustomer(c.get("db"), principalOf(c).userId, c.req.valid("param").id, c.req.valid("json"));
    if (r.created) dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, r.rating, { status: r.created ? 201 : 200, message: "Rating submitted successfully" });
  },
);

providersRoutes.post(
  "/report-customer",
  describe({ summary: "Report a customer", tags: [...tags, "reports"], response: CustomerReportData, status: [201] }),
  provider,
  body(ReportCustomerBody),
  async (c) => {
    const b = c.req.valid("json");
    const report = await reportCustomer(
      c.get("db"),
      principalOf(c).userId,
      { ...b, incidentTime: b.incidentTime ?? null },
      c.get("config").PUBLIC_BASE_URL,
    );
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, report, { status: 201, message: "Customer report submitted successfully" });
  },
);
