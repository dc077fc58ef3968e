import { eq, type SQL } from "drizzle-orm";
import type { HttpDb } from "../db/client";
import { providerProfiles, providerServices, servicesMaster } from "../db/schema";
import { AppError } from "../http/errors";

/** The listing fee: what a provider pays to list one of their services, at the category's price. */

export type ListingForPayment = {
  providerServiceId: string;
  serviceName: string;
  amountPaise: number;
  validityDays: number;
};

/** The listing and its price, as a query to send alone or in a batch with the route's other reads. */
export function listingForPaymentQuery(db: HttpDb, providerServiceId: string | SQL) {
  return db
    .select({
      id: providerServices.id,
      status: providerServices.status,
      ownerId: providerProfiles.userId,
      serviceName: servicesMaster.name,
      isPaid: servicesMaster.isPaid,
      feePaise: servicesMaster.listingFeePaise,
      validityDays: servicesMaster.listingValidityDays,
    })
    .from(providerServices)
    .innerJoin(providerProfiles, eq(providerProfiles.id, providerServices.providerId))
    .innerJoin(servicesMaster, eq(servicesMaster.id, providerServices.serviceId))
    .where(eq(providerServices.id, providerServiceId))
    .limit(1);
}

type ListingPriceRow = Awaited<ReturnType<typeof listingForPaymentQuery>>[number];

/** The caller's own listing and the server's price for it, from `listingForPaymentQuery`. Someone else's listing is a plain 404. */
export function listingForPayment(rows: ListingPriceRow[], userId: string): ListingForPayment {
  const row = rows[0];
  if (!row || row.ownerId !== userId || row.status === "deleted") throw new AppError("NOT_FOUND", "Provider service not found");
  if (!row.isPaid) throw new AppError("BAD_REQUEST", "This service is free; no payment is needed");
  return { providerServiceId: row.id, serviceName: row.serviceName, amountPaise: row.feePaise, validityDays: row.validityDays };
}
