import { Hono } from "hono";
import { principalOf, requireAuth } from "../http/auth";
import type { AppEnv } from "../http/context";
import { AppError } from "../http/errors";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { routeLimits } from "../http/route-limits";
import { body, params, query } from "../http/validate";
import { dispatchAfterCommit } from "../outbox/outbox";
import { clientMeta } from "../sessions/request";
import { PROFILE_UPDATE } from "./limits";
import {
  AddressData,
  AddressPage,
  addressParams,
  createAddressBody,
  Deleted,
  ProfileData,
  ProfilePicTop,
  pageQuery,
  UpdatedProfileData,
  updateAddressBody,
  updateProfileBody,
} from "./schemas";
import * as users from "./service";

/** /api/users: profile, addresses, account deletion (docs/api-contract.md §3.2, §3.3). Any signed-in role. */
export const usersRoutes = new Hono<AppEnv>();

const tags = ["users"];

usersRoutes.get(
  "/profile",
  describe({ summary: "The signed-in user's profile", tags, response: ProfileData }),
  requireAuth(),
  async (c) => {
    const user = await users.getProfile(c.get("db").http, principalOf(c).userId);
    return ok(c, { user });
  },
);

usersRoutes.put(
  "/profile",
  describe({
    summary: 'Update name (at most 2 renames), e-mail and photo (data:image URL, https URL, or "" to remove)',
    tags,
    response: UpdatedProfileData,
    extraTop: ProfilePicTop,
  }),
  routeLimits(PROFILE_UPDATE),
  requireAuth(),
  body(updateProfileBody),
  async (c) => {
    const p = principalOf(c);
    const { success } = await c.env.AUTH_LIMITER.limit({ key: `profile:${p.userId}` });
    if (!success) throw new AppError("RATE_LIMITED", "Too many profile updates. Please try again in a minute.", { retryAfter: 60 });
    const user = await users.updateProfile(
      { db: c.get("db"), env: c.env, publicBaseUrl: c.get("config").PUBLIC_BASE_URL, waitUntil: (x) => c.executionCtx.waitUntil(x) },
      p.userId,
      c.req.valid("json"),
    );
    // The apps look for the new photo URL in several places (docs/api-contract.md §3.2); give them all.
    return ok(
      c,
      { user, profile_pic_url: user.profilePicUrl },
      { message: "Profile updated successfully", extraTop: { profile_pic_url: user.profilePicUrl } },
    );
  },
);

usersRoutes.get(
  "/addresses",
  describe({ summary: "The user's addresses", tags, response: AddressPage }),
  requireAuth(),
  query(pageQuery),
  async (c) => {
    const { page, limit } = c.req.valid("query");
    return ok(c, await users.listAddresses(c.get("db").http, principalOf(c).userId, page, limit));
  },
);

usersRoutes.post(
  "/addresses",
  describe({ summary: "Add an address (at most 3, one home)", tags, response: AddressData, status: [201] }),
  requireAuth(),
  body(createAddressBody),
  async (c) => {
    const address = await users.createAddress(c.get("db").http, principalOf(c).userId, c.req.valid("json"));
    return ok(c, { address }, { message: "Address added successfully", status: 201 });
  },
);

usersRoutes.put(
  "/addresses/:id",
  describe({ summary: "Update an address", tags, response: AddressData }),
  requireAuth(),
  params(addressParams),
  body(updateAddressBody),
  async (c) => {
    const address = await users.updateAddress(c.get("db").http, principalOf(c).userId, c.req.valid("param").id, c.req.valid("json"));
    return ok(c, { address }, { message: "Address updated successfully" });
  },
);

usersRoutes.delete(
  "/addresses/:id",
  describe({ summary: "Delete an address", tags, response: Deleted }),
  requireAuth(),
  params(addressParams),
  async (c) => {
    await users.deleteAddress(c.get("db").http, principalOf(c).userId, c.req.valid("param").id);
    return ok(c, { deleted: true }, { message: "Address deleted successfully" });
  },
);

usersRoutes.delete(
  "/delete-account",
  describe({
    summary: "Delete the account (soft: bookings and payments stay for the other party and the ledger)",
    tags,
    response: Deleted,
  }),
  requireAuth(),
  async (c) => {
    await users.deleteAccount(c.get("db"), principalOf(c).userId, clientMeta(c));
    dispatchAfterCommit(c.env, c.executionCtx); // the revoked sessions' sockets close (src/sessions/tokens.ts)
    return ok(c, { deleted: true }, { message: "Account deleted successfully." });
  },
);
