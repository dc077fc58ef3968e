import { Hono } from "hono";
import { z } from "zod";
import { principalOf, requireAuth } from "../http/auth";
import type { AppContext, AppEnv } from "../http/context";
import { describe } from "../http/meta";
import { ok } from "../http/respond";
import { routeLimits } from "../http/route-limits";
import { body, params } from "../http/validate";
import type { MediaStore } from "../media/store";
import { dispatchAfterCommit } from "../outbox/outbox";
import { edgeCachedJson } from "./cache";
import { listPublicServices } from "./catalogue";
import { ServiceCategories } from "./catalogue-schemas";
import { EDIT_LISTING, REGISTER_LISTING } from "./limits";
import {
  CategoryParam,
  ListingIdParam,
  MyRegistrations,
  Registered,
  RegistrationBody,
  RegistrationUpdateBody,
  RegistrationUpdated,
} from "./schemas";
import { deleteRegistration, myRegistrations, registerService, updateRegistration } from "./service";

/** /api/services: provider service registration and my-registrations. */
export const servicesRoutes = new Hono<AppEnv>();

const tags = ["services"];
const provider = requireAuth("provider");

/** The object store the registration's images go to (keyed under the caller by the service). */
const media = (c: AppContext): MediaStore => ({ env: c.env, publicBaseUrl: c.get("config").PUBLIC_BASE_URL });

servicesRoutes.get(
  "/",
  describe({ summary: "Service categories (same as /api/public/services)", tags, response: ServiceCategories }),
  (c) => edgeCachedJson(c, { generation: "catalogue", ttlSeconds: 300 }, () => listPublicServices(c.get("db").http)),
);

servicesRoutes.get(
  "/my-registrations",
  describe({ summary: "My service registrations with payment status and prices", tags, response: MyRegistrations }),
  provider,
  async (c) => ok(c, { registeredServices: await myRegistrations(c.get("db").http, principalOf(c).userId) }),
);

servicesRoutes.post(
  "/:category/providers",
  describe({ summary: "Register as a provider in a category (front-end category id)", tags, response: Registered, status: [201] }),
  routeLimits(REGISTER_LISTING),
  provider,
  params(CategoryParam),
  body(RegistrationBody),
  async (c) => {
    const { category } = c.req.valid("param");
    const r = await registerService(c.get("db"), principalOf(c).userId, category, c.req.valid("json"), media(c));
    dispatchAfterCommit(c.env, c.executionCtx);
    return ok(
      c,
      {
        providerService: { ...r.listing, payment_status: r.listing.status, service_name: r.serviceName },
        isFreeService: r.isFreeService,
      },
      {
        status: 201,
        message: r.isFreeService
          ? "Successfully registered - service activated for free!"
          : "Successfully registered as provider for this service - payment required to activate",
      },
    );
  },
);

servicesRoutes.put(
  "/:category/providers",
  describe({ summary: "Edit my registration in a category", tags, response: RegistrationUpdated }),
  routeLimits(EDIT_LISTING),
  provider,
  params(CategoryParam),
  body(RegistrationUpdateBody),
  async (c) => {
    const { category } = c.req.valid("param");
    const { listingId } = await updateRegistration(c.get("db"), principalOf(c).userId, category, c.req.valid("json"), media(c));
    return ok(c, { providerServiceId: listingId }, { message: "Service registration updated successfully" });
  },
);

servicesRoutes.delete(
  "/my-registrations/:serviceId",
  describe({ summary: "Delete my registration (payment history is kept)", tags, response: z.null() }),
  provider,
  params(ListingIdParam),
  async (c) => {
    await deleteRegistration(c.get("db").http, principalOf(c).userId, c.req.valid("param").serviceId);
    return ok(c, null, { message: "Service registration cancelled successfully" });
  },
);
