import type { DeclaredRoute } from "../http/route-limits";
import { imagesBody } from "../media/limits";

/** What the workers check before /api/auth's handlers run (src/http/route-limits.ts). */

/** Signup carries the profile photo as a base64 data URL. */
export const SIGNUP: DeclaredRoute = { method: "POST", path: "/api/auth/signup", limits: { body: imagesBody("a signup photo", 1) } };
