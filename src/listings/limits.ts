import type { DeclaredRoute } from "../http/route-limits";
import { imagesBody, WORKING_PROOF_PHOTOS } from "../media/limits";

/** What the workers check before /api/services' handlers run (src/http/route-limits.ts). */

/** Register and edit a listing: the work photos plus the engineering certificate. */
const registrationPhotos = { body: imagesBody("service registration photos", WORKING_PROOF_PHOTOS + 1) };
export const REGISTER_LISTING: DeclaredRoute = { method: "POST", path: "/api/services/:category/providers", limits: registrationPhotos };
export const EDIT_LISTING: DeclaredRoute = { method: "PUT", path: "/api/services/:category/providers", limits: registrationPhotos };
