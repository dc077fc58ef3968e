import { z } from "zod";
import { rupees, text } from "../http/fields";

/** Provider service registration as the provider app sends it (docs/api-contract.md §3.5). */

export const CategoryParam = z.object({
  category: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "Unknown service category")
    .max(60),
});

export const ListingIdParam = z.object({ serviceId: z.uuid("Invalid service registration id") });

const SubServicePrice = z.object({
  serviceId: z.string().trim().min(1, "serviceId is required").max(100),
  /** Rupees, as typed by the provider; stored as paise. */
  price: rupees("price"),
});

/** A data:image URL (stored in R2) or an https URL the provider already has. */
const ImageRef = z.string().trim().min(1).max(7_500_000);

export const RegistrationBody = z.object({
  yearsOfExperience: z.coerce.number().int().min(0, "yearsOfExperience must be 0-80").max(80, "yearsOfExperience must be 0-80"),
  // The app does not validate it and may send "" (docs/api-contract.md §3.5).
  serviceDescription: text().max(2000).nullish(),
  state: text().trim().min(1, "state is required").max(100),
  city: text().trim().max(100).nullish(),
  fullAddress: text().trim().min(1, "fullAddress is required").max(500),
  workingProofUrls: z.array(ImageRef).max(10, "at most 10 working proof images").nullish(),
  isEngineeringProvider: z.boolean().nullish(),
  engineeringCertificateUrl: ImageRef.nullish(),
  subServices: z.array(SubServicePrice).min(1, "Select at least one sub-service with a price").max(50),
});

/** Edit mode sends the same body; anything omitted keeps its current value. */
export const RegistrationUpdateBody = RegistrationBody.partial();

export type RegistrationInput = z.infer<typeof RegistrationBody>;
export type RegistrationUpdate = z.infer<typeof RegistrationUpdateBody>;
