import { Hono } from "hono";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { AppError, notFound } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body, params, query } from "../http/validate";
import { dispatchAfterCommit } from "../outbox/outbox";
import { createBooking } from "./create";
import { rateProvider, reportProvider } from "./feedback";
import { customerBookings, customerUnreadCount, markAllViewed, markViewedByCustomer } from "./lists";
import {
  CancelBody,
  CreateBookingBody,
  CustomerBookingData,
  CustomerBookingsData,
  IdParam,
  ListBookingsQuery,
  ProviderReportData,
  RateBody,
  RatingData,
  ReportBody,
  UnreadCountData,
  UpdatedCountData,
  ViewedData,
} from "./schemas";
import { cancelBooking } from "./status";
import { parseAppointment } from "./time";

/** /api/bookings: the customer side of bookings, ratings and reports. */
export const bookingsRoutes = new Hono<AppEnv>();

const tags = ["bookings"];
const customer = requireAuth("user");
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;

bookingsRoutes.post(
  "/",
  describe({
    summary: "Book a provider listing (idempotent: the apps retry POST)",
    tags,
    response: CustomerBookingData,
    status: [201, 200],
  }),
  customer,
  body(CreateBookingBody),
  async (c) => {
    const me = principalOf(c);
    const b = c.req.valid("json");
    const header = c.req.header("idempotency-key");
    if (header !== undefined && !IDEMPOTENCY_KEY.test(header))
      throw new AppError("VALIDATION_ERROR", "Idempotency-Key must be 1-200 characters of [A-Za-z0-9._:-]");
    const appointment = parseAppointment(b.appointmentDate, b.appointmentTime);
    const db = c.get("db");
    const { booking, created } = await createBooking(db, {
      customerId: me.userId,
      providerServiceId: b.providerServiceId,
      subServiceIds: b.subServiceIds,
      appointment,
      address: b.address?.trim() || undefined,
      description: b.description?.trim() || undefined,
      idempotencyKey: header,
    });
    if (created) dispatchAfterCommit(c.env, c.executionCtx);
    return ok(
      c,
      { booking },
      { status: created ? 201 : 200, message: created ? "Booking created successfully" : "Booking already created" },
    );
  },
);

bookingsRoutes.get(
  "/",
  describe({ summary: "My bookings (list and total in one query)", tags, response: CustomerBookingsData }),
  customer,
  query(ListBookingsQuery),
  async (c) => ok(c, await customerBookings(c.get("db").http, principalOf(c).userId, c.req.valid("query"))),
);

bookingsRoutes.get(
  "/unread-count",
  describe({ summary: "Unread booking updates (badge)", tags, response: UnreadCountData }),
  customer,
  async (c) => ok(c, { unreadCount: await customerUnreadCount(c.get("db").http, principalOf(c).userId) }),
);

bookingsRoutes.put(
  "/mark-all-viewed",
  describe({ summary: "Clear the bookings badge", tags, response: UpdatedCountData }),
  customer,
  async (c) => {
    const updatedCount = await markAllViewed(c.get("db").http, "customer", principalOf(c).userId);
    if (updatedCount > 0) dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { updatedCount }, { message: updatedCount ? "All bookings marked as viewed" : "All bookings already viewed" });
  },
);

bookingsRoutes.get(
  "/:id",
  describe({ summary: "One of my bookings", tags, response: CustomerBookingData }),
  customer,
  params(IdParam),
  async (c) => {
    const { bookings } = await customerBookings(c.get("db").http, principalOf(c).userId, {
      page: 1,
      limit: 1,
      id: c.req.valid("param").id,
    });
    if (!bookings[0]) throw notFound("Booking");
    return ok(c, { booking: bookings[0] });
  },
);

bookingsRoutes.put(
  "/:id/mark-viewed",
  describe({ summary: "Mark one booking's update as seen", tags, response: ViewedData }),
  customer,
  params(IdParam),
  async (c) => {
    const { id } = c.req.valid("param");
    await markViewedByCustomer(c.get("db").http, principalOf(c).userId, id);
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { bookingId: id, viewed: true }, { message: "Booking marked as viewed" });
  },
);

bookingsRoutes.put(
  "/:id/cancel",
  describe({ summary: "Cancel my booking (pending or accepted)", tags, response: CustomerBookingData }),
  customer,
  params(IdParam),
  body(CancelBody),
  async (c) => {
    const me = principalOf(c);
    const { id } = c.req.valid("param");
    const reason = c.req.valid("json").cancellationReason?.trim() || undefined;
    const booking = await cancelBooking(c.get("db"), me.userId, id, reason);
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { booking }, { message: "Booking cancelled successfully" });
  },
);

bookingsRoutes.post(
  "/:id/rate",
  describe({
    summary: "Rate the provider of a completed booking (once)",
    tags: [...tags, "ratings"],
    response: RatingData,
    status: [201, 200],
  }),
  customer,
  params(IdParam),
  body(RateBody),
  async (c) => {
    const { id } = c.req.valid("param");
    const r = await rateProvider(c.get("db"), principalOf(c).userId, id, c.req.valid("json"));
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

bookingsRoutes.post(
  "/:id/report",
  describe({
    summary: "Report the provider of my booking (once per booking)",
    tags: [...tags, "reports"],
    response: ProviderReportData,
    status: [201],
  }),
  customer,
  params(IdParam),
  body(ReportBody),
  async (c) => {
    const { id } = c.req.valid("param");
    const b = c.req.valid("json");
    const { reportId } = await reportProvider(c.get("db"), principalOf(c).userId, id, {
      reason: b.reportReason,
      description: b.reportDescription,
    });
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(c, { reportId, bookingId: id }, { status: 201, message: "Booking reported successfully" });
  },
);
