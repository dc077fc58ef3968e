import { z } from "zod";

/** Response shape of GET /api/earnings: amounts as the provider app prints them (`₹1,23,456`). */
export const EarningsData = z.object({
  earnings: z.object({ today: z.string(), thisMonth: z.string(), pending: z.string() }),
});
export type EarningsData = z.infer<typeof EarningsData>;
