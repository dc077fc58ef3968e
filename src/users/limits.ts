import type { DeclaredRoute } from "../http/route-limits";
import { imagesBody } from "../media/limits";

/** What the workers check before /api/users' handlers run (src/http/route-limits.ts). */

/** A profile update may carry a new photo as a base64 data URL. */
export const PROFILE_UPDATE: DeclaredRoute = {
  method: "PUT",
  path: "/api/users/profile",
  limits: { body: imagesBody("a profile photo", 1) },
};
