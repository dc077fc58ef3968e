import { z } from "zod";

/**
 * Response shapes of the provider routes (routes.ts `describe({ response })`); the booking shapes the
 * provider side shares with the customer side are in bookings/schemas.ts.
 */

/** The provider's own profile, snake_case as the provider app reads it (upstream's columns). */
export const ProviderProfileData = z.object({
  profile: z.object({
    /** The provider profile's id; null before the first service registration creates it. */
    id: z.uuid().nullable(),
    user_id: z.uuid(),
    full_name: z.string(),
    email: z.string(),
    phone: z.string(),
    profile_pic_url: z.string(),
    is_verified: z.boolean(),
    created_at: z.iso.datetime(),
    years_of_experience: z.number(),
    is_engineering_provider: z.boolean(),
    engineering_certificate_url: z.string().nullable(),
    city: z.string(),
    state: z.string(),
    full_address: z.string(),
    /** "City, State" from the home address, or whichever of the two is known. */
    location: z.string(),
    registered_services_count: z.int(),
  }),
});
export type ProviderProfileData = z.infer<typeof ProviderProfileData>;
