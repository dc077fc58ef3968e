import { z } from "zod";

/**
 * Query and response shapes of /api/notifications (docs/api-contract.md §3.10). The apps send `page` and
 * `limit` and read `pagination.{currentPage, totalPages, totalCount, hasMore}`; upstream answered
 * `hasNextPage`/`totalItems`, so "load more" never fired. Both spellings are returned.
 */
const ymd = /^\d{4}-\d{2}-\d{2}$/;
const instant = (edge: "start" | "end") =>
  z
    .string()
    .trim()
    .refine(
      (s) => (ymd.test(s) ? !Number.isNaN(Date.parse(`${s}T00:00:00+05:30`)) : !Number.isNaN(Date.parse(s))),
      "must be a date (YYYY-MM-DD) or an ISO date-time",
    )
    // A bare date is a whole India-time day; `dateTo` includes that day.
    .transform((s) => (ymd.test(s) ? new Date(Date.parse(`${s}T00:00:00+05:30`) + (edge === "end" ? 86_400_000 : 0)) : new Date(s)));

const page = z.coerce.number().int().min(1).max(10_000).default(1);
const limit = (fallback: number) => z.coerce.number().int().min(1).max(100).default(fallback);
/** The history screen sends `Booking`, `Rating`, `Report`, `Welcome`; stored types are lower-case. */
const type = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z_]+$/, "letters and underscores only")
  .transform((s) => s.toLowerCase());

export const ListQuery = z.object({ page, limit: limit(20), type: type.optional() });
export const HistoryQuery = z.object({
  page,
  limit: limit(50),
  type: type.optional(),
  dateFrom: instant("start").optional(),
  dateTo: instant("end").optional(),
  readStatus: z.enum(["read", "unread"]).optional(),
});
export const RecentQuery = z.object({ since: z.coerce.number().int().min(0).max(8.64e15).default(0) });
export const IdParam = z.object({ id: z.uuid("must be a notification id") });

export const AppNotification = z.object({
  id: z.string(),
  title: z.string(),
  message: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  is_read: z.boolean(),
  read_at: z.string().nullable(),
  created_at: z.string(),
  formatted_date: z.string(),
  formatted_time: z.string(),
  relative_time: z.string(),
  // The legacy provider screen (app/notifications.tsx) reads these optionally at the top level: copies of `data`'s.
  amount: z.unknown().optional(),
  discount: z.unknown().optional(),
  providerName: z.unknown().optional(),
  providerImage: z.unknown().optional(),
});

export const Pagination = z.object({
  currentPage: z.number(),
  totalPages: z.number(),
  totalCount: z.number(),
  hasMore: z.boolean(),
  limit: z.number(),
  totalItems: z.number(),
  itemsPerPage: z.number(),
  hasNextPage: z.boolean(),
  hasPrevPage: z.boolean(),
});

export const ListResponse = z.object({ notifications: z.array(AppNotification), pagination: Pagination, unreadCount: z.number() });
export const HistoryResponse = z.object({
  notifications: z.array(AppNotification),
  pagination: Pagination,
  statistics: z.object({
    total: z.number(),
    unread: z.number(),
    booking_notifications: z.number(),
    rating_notifications: z.number(),
    report_notifications: z.number(),
    welcome_notifications: z.number(),
  }),
});
export const RecentResponse = z.object({
  notifications: z.array(AppNotification),
  count: z.number().int(),
  since: z.number().describe("the `since` asked for (epoch ms)"),
});
