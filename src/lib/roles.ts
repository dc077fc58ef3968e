/**
 * The account roles: a customer (`user`), a service provider, or an admin. The one list of them:
 * the database enum is built from it (src/db/schema/users.ts `userRole`, where code imports `Role`
 * from), and access tokens carry one (src/lib/jwt.ts), which is why it sits below both.
 */
export const ROLES = ["user", "provider", "admin"] as const;
export type Role = (typeof ROLES)[number];
