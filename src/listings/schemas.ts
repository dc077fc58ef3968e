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

// ------------------------------------------------------------------------------------------------
// Response data of /api/services (docs/api-contract.md §3.5).

const iso = z.string().describe("ISO-8601 UTC");
const listingState = z.enum(["pending", "active", "expired", "deleted"]);

/** One of my registrations as the provider app's services screen reads it. */
export const Registration = z.object({
  provider_service_id: z.uuid(),
  service_id: z.uuid(),
  service_name: z.string(),
  is_paid: z.boolean(),
  listing_fee: z.number().nullable().describe("rupees"),
  payment_status: listingState.describe("`expired` once the paid window has passed"),
  payment_start_date: iso.nullable(),
  payment_end_date: iso.nullable(),
  days_until_expiry: z.number().nullable(),
  created_at: iso,
  working_proof_urls: z.array(z.string()),
  engineering_certificate_url: z.string().nullable(),
  is_engineering_provider: z.boolean(),
  state: z.string(),
  city: z.string(),
  full_address: z.string(),
  years_of_experience: z.number(),
  service_description: z.string(),
  sub_services: z.array(
    z.object({
      id: z.uuid(),
      serviceId: z.string(),
      service_id: z.string(),
      serviceName: z.string(),
      price: z.number().nullable(),
      cost: z.number().nullable(),
      createdAt: iso,
      updatedAt: iso,
    }),
  ),
  pricing: z.object({
    minPrice: z.number().nullable(),
    maxPrice: z.number().nullable(),
    subServiceCount: z.number().int(),
    priceRange: z.string(),
    displayPrice: z.string(),
  }),
});
export const MyRegistrations = z.object({ registeredServices: z.array(Registration) });

/** The listing a registration created; `payment_status` repeats `status` for the app. */
export const Registered = z.object({
  providerService: z.object({
    id: z.uuid(),
    provider_id: z.uuid(),
    service_id: z.uuid(),
    status: listingState,
    activated_at: iso.nullable(),
    expires_at: iso.nullable(),
    service_description: z.string(),
    working_proof_urls: z.array(z.string()),
    created_at: iso,
    payment_status: listingState,
    service_name: z.string(),
  }),
  isFreeService: z.boolean(),
});
export const RegistrationUpdated = z.object({ providerServiceId: z.uuid() });
