import { z } from "zod";
import { type addresses, addressType as addressTypeEnum, userRole, type users } from "../db/schema";
import { email, fullName, profilePicInput, text } from "../http/fields";

/**
 * The user object the apps store and read (docs/api-contract.md §2.4, §3.2): camelCase as upstream's login
 * returned it, with snake_case duplicates for the screens that fall back to them. Never the hash:
 * this is the only mapping from a users row to a response.
 */
export type UserRow = typeof users.$inferSelect;

const isoTime = z.string().describe("ISO-8601 UTC");

export const UserView = z.object({
  id: z.uuid(),
  phone: z.string(),
  fullName: z.string(),
  full_name: z.string(),
  email: z.string(),
  role: z.enum(userRole.enumValues),
  profilePicUrl: z.string().nullable(),
  profile_pic_url: z.string().nullable(),
  isVerified: z.boolean(),
  is_verified: z.boolean(),
  nameChangeCount: z.number().int(),
  name_change_count: z.number().int(),
  createdAt: isoTime,
  created_at: isoTime,
});

export function userView(u: UserRow): z.input<typeof UserView> {
  const created = u.createdAt.toISOString();
  return {
    id: u.id,
    phone: u.phone,
    fullName: u.fullName,
    full_name: u.fullName,
    // Non-null: several screens call .toLowerCase() on it unguarded (docs/api-contract.md §1.7).
    email: u.email ?? "",
    role: u.role,
    profilePicUrl: u.profilePicUrl,
    profile_pic_url: u.profilePicUrl,
    isVerified: u.isVerified,
    is_verified: u.isVerified,
    nameChangeCount: u.nameChangeCount,
    name_change_count: u.nameChangeCount,
    createdAt: created,
    created_at: created,
  };
}

export type AddressRow = typeof addresses.$inferSelect;

export const AddressView = z.object({
  id: z.uuid(),
  type: z.enum(addressTypeEnum.enumValues),
  state: z.string().nullable(),
  city: z.string().nullable(),
  full_address: z.string().nullable(),
  fullAddress: z.string().nullable(),
  pincode: z.string().nullable(),
  created_at: isoTime,
});

export function addressView(a: AddressRow): z.input<typeof AddressView> {
  return {
    id: a.id,
    type: a.type,
    state: a.state,
    city: a.city,
    full_address: a.fullAddress,
    fullAddress: a.fullAddress,
    pincode: a.pincode,
    created_at: a.createdAt.toISOString(),
  };
}

/** Photo: data URL → R2, https URL kept, "" (or null) removes it. */
export const updateProfileBody = z
  .object({
    fullName: fullName.optional(),
    email: email.optional(),
    profilePicUrl: profilePicInput.nullable().optional(),
  })
  .refine((b) => b.fullName !== undefined || b.email !== undefined || b.profilePicUrl !== undefined, { message: "No fields to update" });

export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** Upstream's API said `work`, its database `office`; both are accepted, stored as `office`. */
const addressType = z.enum(["home", "work", "office", "other"]).transform((t) => (t === "work" ? "office" : t));

const addressFields = {
  fullAddress: text().trim().min(10, "Address must be 10-500 characters").max(500, "Address must be 10-500 characters"),
  state: text().trim().min(2).max(100),
  city: text().trim().min(2).max(100),
  pincode: z.string().regex(/^\d{6}$/, "Pincode must be 6 digits"),
};
export const createAddressBody = z.object({
  type: addressType.default("home"),
  fullAddress: addressFields.fullAddress,
  state: addressFields.state,
  city: addressFields.city.optional(),
  pincode: addressFields.pincode.optional(),
});
export const updateAddressBody = z
  .object({
    type: addressType.optional(),
    fullAddress: addressFields.fullAddress.optional(),
    state: addressFields.state.optional(),
    city: addressFields.city.optional(),
    pincode: addressFields.pincode.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: "No fields to update" });
export const addressParams = z.object({ id: z.uuid("Invalid address id") });

// ------------------------------------------------------------------------------------------------
// Response data of /api/users

/** The profile adds the first address as text (the screens render it in a <Text>). */
export const ProfileData = z.object({ user: UserView.extend({ location: z.string().nullable() }) });
export const UpdatedProfileData = z.object({ user: UserView, profile_pic_url: z.string().nullable() });
export const ProfilePicTop = z.object({ profile_pic_url: z.string().nullable() });
export const AddressPage = z.object({
  addresses: z.array(AddressView),
  pagination: z.object({
    currentPage: z.number().int(),
    totalPages: z.number().int(),
    total: z.number().int(),
    totalCount: z.number().int(),
    limit: z.number().int(),
    hasMore: z.boolean(),
  }),
});
export const AddressData = z.object({ address: AddressView });
export const Deleted = z.object({ deleted: z.literal(true) });
