import { z } from "zod";

/**
 * Response data of the public catalogue (/api/public, GET /api/services): the apps' names and types.
 * Prices are rupees as numbers (`price`, `minPrice`) or `₹N,NNN` strings (`priceRange`, `displayPrice`).
 */

const iso = z.string().describe("ISO-8601 UTC");

export const Pricing = z.object({
  minPrice: z.number().nullable(),
  maxPrice: z.number().nullable(),
  subServiceCount: z.number().int(),
  priceRange: z.string(),
  displayPrice: z.string(),
});

export const ServiceCategory = z.object({ id: z.uuid(), name: z.string(), is_paid: z.boolean(), created_at: iso });
export const ServiceCategories = z.object({
  services: z.array(ServiceCategory),
  pagination: z.object({
    currentPage: z.number().int(),
    totalPages: z.number().int(),
    total: z.number().int(),
    limit: z.number().int(),
    hasMore: z.boolean(),
  }),
});

/** The fields every public listing card carries (never a phone number: calls are masked). */
export const ListingCard = z.object({
  provider_service_id: z.uuid(),
  service_id: z.uuid(),
  service_name: z.string(),
  user_id: z.uuid(),
  full_name: z.string(),
  profile_pic_url: z.string(),
  years_of_experience: z.number(),
  service_description: z.string(),
  working_proof_urls: z.array(z.string()),
  city: z.string(),
  state: z.string(),
  payment_start_date: iso.nullable(),
  payment_end_date: iso.nullable(),
  averageRating: z.number().nullable(),
  totalReviews: z.number().int(),
  pricing: Pricing,
});

export const ProviderPage = z.object({
  providers: z.array(ListingCard),
  pagination: z.object({
    total: z.number().int(),
    currentPage: z.number().int(),
    totalPages: z.number().int(),
    limit: z.number().int(),
    hasMore: z.boolean(),
  }),
});

export const PublicListing = ListingCard.extend({
  is_engineering_provider: z.boolean(),
  serviceDescription: z.string(),
  sub_services: z.array(z.object({ id: z.uuid(), serviceId: z.string(), serviceName: z.string(), price: z.number() })),
  ratings: z.array(z.object({ rating: z.number().int(), review: z.string().nullable(), created_at: iso, customer_name: z.string() })),
});
export const PublicListingData = z.object({ provider: PublicListing });
export const FeaturedProviders = z.object({ providers: z.array(ListingCard) });

export const Geocoded = z.object({ state: z.string(), city: z.string(), latitude: z.number(), longitude: z.number() });
