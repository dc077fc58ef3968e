import { z } from "zod";

/** Response data of /api/admin (the provider app's admin screens; snake_case as upstream sent it). */

const iso = z.string().describe("ISO-8601 UTC");
const reportStatus = z.enum(["open", "resolved", "closed"]);

export const DashboardStats = z.object({
  totalUsers: z.number().int(),
  totalProviders: z.number().int(),
  totalBookings: z.number().int(),
  totalRevenue: z.number().describe("rupees"),
  pendingReports: z.number().int(),
  reportsStats: z.object({ total: z.number().int(), open: z.number().int(), resolved: z.number().int(), closed: z.number().int() }),
});

const AdminPagination = z.object({
  currentPage: z.number().int(),
  totalPages: z.number().int(),
  totalCount: z.number().int(),
  total: z.number().int(),
  limit: z.number().int(),
});

/** A report in either direction (customer → provider, provider → customer), in one shape. */
export const ReportView = z.object({
  id: z.uuid(),
  report_type: z.string(),
  description: z.string(),
  status: reportStatus,
  created_at: iso,
  updated_at: iso,
  incident_date: z.string().nullable(),
  incident_time: z.string().nullable(),
  evidence: z.array(z.string()),
  admin_note: z.string().nullable(),
  booking_id: z.uuid().nullable(),
  reported_by_user_id: z.uuid().nullable(),
  reported_provider_id: z.uuid().nullable(),
  provider_id: z.uuid().nullable(),
  reporter_name: z.string(),
  reporter_phone: z.string(),
  reported_provider_name: z.string().nullable(),
  reported_provider_phone: z.string(),
  customer_name: z.string().nullable(),
  customer_user_id: z.uuid().nullable(),
  report_source: z.enum(["user_report", "provider_report"]),
  report_category: z.enum(["User Report", "Provider Report"]),
  reporter_type: z.enum(["User", "Provider"]),
  reported_type: z.enum(["User", "Provider"]),
});
export const ReportPage = z.object({ reports: z.array(ReportView), pagination: AdminPagination });
export const ReportStatusChanged = z.object({
  id: z.uuid(),
  status: reportStatus,
  report_source: z.enum(["user_report", "provider_report"]),
});

const Account = z.object({
  id: z.uuid(),
  full_name: z.string(),
  email: z.string(),
  phone: z.string(),
  is_verified: z.boolean(),
  created_at: iso,
  last_login: iso.nullable(),
});
export const UserAccounts = z.object({
  users: z.array(Account.extend({ role: z.literal("user"), total_bookings: z.number().int() })),
  pagination: AdminPagination,
});
export const ProviderAccounts = z.object({
  providers: z.array(
    Account.extend({
      state: z.string(),
      city: z.string(),
      years_of_experience: z.number(),
      service_description: z.string(),
      registered_services_count: z.number().int(),
    }),
  ),
  pagination: AdminPagination,
});
