import { z } from "zod";
import { bookingStatus } from "../db/schema";
import { text } from "../http/fields";
import { parseClock } from "./time";

/** Request shapes of the booking routes, as the apps send them (docs/api-contract.md §3.6–§3.9). */

export const IdParam = z.object({ id: z.uuid("Invalid booking id") });

export const CreateBookingBody = z
  .object({
    providerServiceId: z.uuid("providerServiceId must be a uuid"),
    /** One sub-service id, or several joined with ",". */
    selectedService: z.string().max(1000).optional(),
    selectedServices: z.array(z.string().min(1).max(100)).max(30).optional(),
    appointmentDate: z.string().min(1).max(20),
    appointmentTime: z.string().min(1).max(20),
    address: text().max(500).optional(),
    description: text().max(1000).optional(),
  })
  .transform((b) => {
    const ids = [...(b.selectedServices ?? []), ...(b.selectedService ?? "").split(",")].map((s) => s.trim()).filter(Boolean);
    return { ...b, subServiceIds: [...new Set(ids)] };
  })
  .refine((b) => b.subServiceIds.length > 0, { message: "Select at least one service", path: ["selectedServices"] });

export const BookingStatusEnum = z.enum(bookingStatus.enumValues);

export const ListBookingsQuery = z.object({
  status: BookingStatusEnum.optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  // The apps send no limit (upstream's default of 10 hid older bookings, docs/api-contract.md §1.8).
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const CancelBody = z.object({ cancellationReason: text().max(500).optional() }).default({});

export const RateBody = z.object({
  rating: z.coerce.number().int().min(1, "rating must be 1-5").max(5, "rating must be 1-5"),
  review: text().max(500).nullish(),
});

export const ReportBody = z.object({
  reportReason: text().trim().min(1, "reportReason is required").max(200),
  reportDescription: text().trim().min(1, "reportDescription is required").max(2000),
});

export const ProviderStatusBody = z.object({
  status: BookingStatusEnum.extract(["accepted", "rejected", "completed"]),
  rejectionReason: text().max(500).optional(),
});

export const REPORT_INCIDENT_TYPES = [
  "Inappropriate Behavior",
  "Policy Violation",
  "Payment Issues",
  "Harassment",
  "Spam/Unwanted Contact",
  "Safety Concerns",
  "Fraudulent Activity",
  "Other",
] as const;

/**
 * The report form's time is free text with the placeholder "HH:MM AM/PM (optional)" (providerApp
 * app/report-customer.tsx), so "10:30 AM" is what providers type; 24-hour "14:05" is accepted too.
 * Normalised to "HH:MM" (24 h) for the `time` column; null when it is not a clock time.
 */
function incidentClock(text: string): string | null {
  // parseClock (the booking form's rules) after dropping seconds and the dots of "a.m."/"p.m.".
  const minutes = parseClock(text.replace(/^(\d{1,2}:\d{2}):\d{2}/, "$1").replace(/([ap])\.?m\.?$/i, "$1m"));
  if (minutes === null) return null;
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

export const ReportCustomerBody = z.object({
  customerName: text().trim().min(1, "customerName is required").max(200),
  incidentDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "incidentDate must be YYYY-MM-DD"),
  incidentTime: z
    .string()
    .trim()
    .transform((t, ctx) => {
      const hhmm = incidentClock(t);
      if (hhmm === null) ctx.addIssue({ code: "custom", message: "incidentTime must be HH:MM or hh:mm AM/PM" });
      return hhmm ?? t;
    })
    .nullish(),
  // Free text in the table; the app offers a fixed list (REPORT_INCIDENT_TYPES).
  incidentType: text().trim().min(1, "incidentType is required").max(100),
  description: text().trim().min(1, "description is required").max(2000),
  // Links only (the app sends https photo URLs): javascript:, data: and the like are refused here;
  // plain http is refused by the route unless it is one of our own media URLs (isOurUrl).
  evidence: z
    .array(z.url({ protocol: /^https?$/, error: "must be an https URL" }).max(1000))
    .max(3)
    .default([]),
});

// ---------------------------------------------------------------------------------------------
// Response shapes (the `data` of 2xx answers, `describe({ response })`): snake_case, as upstream's
// rows that both apps read. The services return values of these types.

const instant = z.iso.datetime();

export const BookedService = z.object({ serviceId: z.string(), serviceName: z.string(), price: z.number() });

/** The other party's rating of this booking, as the reading side gave it. */
export const BookingRating = z.object({ rating: z.number(), review: z.string().nullable(), created_at: instant });
export type BookingRating = z.infer<typeof BookingRating>;

/** What every booking answer carries, whichever side reads it. */
export const BookingFields = z.object({
  id: z.uuid(),
  status: BookingStatusEnum,
  appointment_date: z.iso.date(),
  appointment_time: z.string(),
  appointment_at: instant,
  /** The booked sub-services' slugs, joined with ",". */
  selected_service: z.string(),
  selected_services: z.array(BookedService),
  /** Rupees; the same frozen total under the three names the apps read. */
  total_price: z.number().nullable(),
  estimated_price: z.number().nullable(),
  service_charge_value: z.number().nullable(),
  address: z.string().nullable(),
  description: z.string().nullable(),
  rejection_reason: z.string().nullable(),
  cancellation_reason: z.string().nullable(),
  created_at: instant,
  updated_at: instant,
  provider_service_id: z.uuid(),
  service_id: z.uuid(),
  service_name: z.string(),
});
export type BookingFields = z.infer<typeof BookingFields>;

/** A booking as the provider's list shows it: the customer's name and area, never their phone. */
export const ProviderBooking = BookingFields.extend({
  customer_id: z.uuid(),
  customer_name: z.string(),
  customer_profile_pic_url: z.string(),
  customer_address: z.string(),
  customer_state: z.string(),
  customer_city: z.string(),
  rating: BookingRating.nullable(),
  is_viewed: z.boolean(),
});

/** A page of bookings, under every name the apps read (upstream's and the list screens'). */
export const BookingsPagination = z.object({
  total: z.int(),
  totalItems: z.int(),
  currentPage: z.int(),
  totalPages: z.int(),
  limit: z.int(),
  itemsPerPage: z.int(),
  hasMore: z.boolean(),
  hasNextPage: z.boolean(),
  hasPrevPage: z.boolean(),
});
export type BookingsPagination = z.infer<typeof BookingsPagination>;

export const ProviderBookingsData = z.object({ bookings: z.array(ProviderBooking), pagination: BookingsPagination });
export type ProviderBookingsData = z.infer<typeof ProviderBookingsData>;

export const UnreadCountData = z.object({ unreadCount: z.int() });
export type UnreadCountData = z.infer<typeof UnreadCountData>;

export const UpdatedCountData = z.object({ updatedCount: z.int() });
export type UpdatedCountData = z.infer<typeof UpdatedCountData>;

/** A status change's answer: the apps read only the status (optimistic UI), so no second read of the booking. */
export const BookingStatusChangeData = z.object({ booking: z.object({ id: z.uuid(), status: BookingStatusEnum }) });
export type BookingStatusChangeData = z.infer<typeof BookingStatusChangeData>;

export const RatingData = z.object({ bookingId: z.uuid(), rating: z.int() });
export type RatingData = z.infer<typeof RatingData>;

export const CustomerReportData = z.object({ report: z.object({ id: z.uuid(), status: z.literal("open") }) });
export type CustomerReportData = z.infer<typeof CustomerReportData>;

/** A booking as the customer's list and detail show it: the provider's name and photo, never the phone. */
export const CustomerBooking = BookingFields.extend({
  provider_id: z.uuid(),
  provider_name: z.string(),
  provider_profile_pic_url: z.string(),
  report_reason: z.string().nullable(),
  report_description: z.string().nullable(),
  rating: BookingRating.nullable(),
  is_viewed: z.boolean(),
});

export const CustomerBookingsData = z.object({ bookings: z.array(CustomerBooking), pagination: BookingsPagination });
export const CustomerBookingData = z.object({ booking: CustomerBooking });
export const ViewedData = z.object({ bookingId: z.uuid(), viewed: z.literal(true) });
export const ProviderReportData = z.object({ reportId: z.uuid(), bookingId: z.uuid() });
