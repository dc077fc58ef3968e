/**
 * The database schema, one file per domain. drizzle-kit reads this file (drizzle.config.ts);
 * triggers, the refund cap and the labour exclusion constraint live in the custom migration
 * `migrations/*_guards.sql` because drizzle cannot express them.
 */
export * from "./addresses";
export * from "./auth";
export * from "./bookings";
export * from "./calls";
export * from "./catalogue";
export * from "./feedback";
export * from "./labour";
export * from "./notifications";
export * from "./outbox";
export * from "./payments";
export * from "./providers";
export * from "./refunds";
export * from "./users";
