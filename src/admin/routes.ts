import { Hono } from "hono";
import { z } from "zod";
import { reportStatus } from "../db/schema";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { text } from "../http/fields";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { body, params, query } from "../http/validate";
import { dispatchAfterCommit } from "../outbox/outbox";
import { DashboardStats, ProviderAccounts, ReportPage, ReportStatusChanged, UserAccounts } from "./schemas";
import { allProviders, allUsers, dashboardStats, listReports, removeAccount, setReportStatus } from "./service";

/** /api/admin: admin screens of the provider app. Every route is admin-only. */
export const adminRoutes = new Hono<AppEnv>();

const tags = ["admin"];
const admin = requireAuth("admin");
const IdParam = z.object({ id: z.uuid("Invalid id") });
// The app sends no page/limit and filters client-side, so the defaults cover a whole small table.
const PageQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});
const ReportsQuery = PageQuery.extend({
  status: z.enum([...reportStatus.enumValues, "all"]).optional(),
  type: z.enum(["all", "user", "provider"]).optional(),
});
// Required: upstream let a missing status set NULL and the report vanished from every list.
const ReportStatusBody = z.object({ status: z.enum(reportStatus.enumValues), adminNote: text().max(1000).optional() });

adminRoutes.get("/stats", describe({ summary: "Dashboard totals and report counts", tags, response: DashboardStats }), admin, async (c) =>
  ok(c, await dashboardStats(c.get("db").http)),
);

adminRoutes.get(
  "/reports",
  describe({ summary: "Reports in both directions, newest first", tags, response: ReportPage }),
  admin,
  query(ReportsQuery),
  async (c) => {
    const q = c.req.valid("query");
    return ok(c, await listReports(c.get("db").http, { ...q, type: q.type === "all" ? undefined : q.type }));
  },
);

adminRoutes.put(
  "/reports/:id/status",
  describe({ summary: "Moderate a report (open, resolved, closed)", tags, response: ReportStatusChanged }),
  admin,
  params(IdParam),
  body(ReportStatusBody),
  async (c) => {
    const b = c.req.valid("json");
    const report = await setReportStatus(c.get("db").http, principalOf(c).userId, c.req.valid("param").id, b.status, b.adminNote);
    return ok(c, report, { message: "Report status updated successfully" });
  },
);

for (const [path, role] of [
  ["/users/:id", "user"],
  ["/providers/:id", "provider"],
] as const) {
  adminRoutes.delete(
    path,
    describe({ summary: `Remove a ${role}: soft delete, revoke sessions, block phone and e-mail`, tags, response: z.null() }),
    admin,
    params(IdParam),
    async (c) => {
      const r = await removeAccount(c.get("db"), principalOf(c).userId, c.req.valid("param").id, role);
      if (!r.alreadyRemoved) dispatchAfterCommit(c.env, c.executionCtx);
      return ok(c, null, { message: role === "provider" ? "Provider removed successfully" : "User removed successfully" });
    },
  );
}

adminRoutes.get(
  "/all-users",
  describe({ summary: "Customer accounts", tags, response: UserAccounts }),
  admin,
  query(PageQuery),
  async (c) => ok(c, await allUsers(c.get("db").http, c.req.valid("query"))),
);

adminRoutes.get(
  "/all-providers",
  describe({ summary: "Provider accounts", tags, response: ProviderAccounts }),
  admin,
  query(PageQuery),
  async (c) => ok(c, await allProviders(c.get("db").http, c.req.valid("query"))),
);
