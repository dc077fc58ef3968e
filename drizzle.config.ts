import { defineConfig } from "drizzle-kit";

// `npx drizzle-kit generate` needs no database. Custom SQL (triggers, exclusion constraints) is added
// with `npx drizzle-kit generate --custom --name <name>` and reviewed like generated SQL.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./migrations",
  strict: true,
  verbose: true,
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:55432/buildxpert" },
});
