// Apply the drizzle-kit SQL migrations in migrations/ (drizzle-orm's node-postgres migrator over `pg`,
// the same bookkeeping table as `drizzle-kit migrate`: drizzle.__drizzle_migrations).
//
// CLI:  node scripts/db/migrate.mjs
//   DATABASE_URL set  -> migrate that database.
//   otherwise         -> the dev database (DEV in embedded.mjs, postgres://...@127.0.0.1:55432/buildxpert): used as is if
//                        a server already listens there, else the persistent .local/pg cluster is started, the
//                        `app` database created if missing, migrated, and the cluster stopped again.

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate as drizzleMigrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { createDatabase, DEV, databaseUrlFor, devDatabaseUrl, startEmbeddedPostgres } from "./embedded.mjs";

export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

/**
 * @param {string} databaseUrl
 * @param {{migrationsFolder?: string}} [opts]
 * @returns {Promise<{applied: boolean}>} applied=false when there is no migration journal yet (nothing to do)
 */
export async function migrate(databaseUrl, { migrationsFolder = MIGRATIONS_FOLDER } = {}) {
  // drizzle-kit writes meta/_journal.json with the first `generate`; before that there is nothing to apply
  // (drizzle's migrator would throw "Can't find meta/_journal.json file").
  if (!existsSync(path.join(migrationsFolder, "meta/_journal.json"))) return { applied: false };
  // One Client (not a Pool) so the session setting below applies to the migrator's transaction.
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    // Migrations are plain DDL; keep notices such as "schema already exists, skipping" off the console.
    await client.query(`SET client_min_messages = warning`);
    await drizzleMigrate(drizzle({ client }), { migrationsFolder });
    return { applied: true };
  } finally {
    await client.end().catch(() => {});
  }
}

async function canConnect(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url) {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

async function main() {
  let url = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    url = devDatabaseUrl();
    const adminUrl = databaseUrlFor(url, "postgres");
    if (!(await canConnect(adminUrl))) {
      const db = await startEmbeddedPostgres({ dataDir: DEV.dataDir, port: DEV.port, persistent: true });
      stop = db.stop;
    }
    await createDatabase(adminUrl, DEV.database, { ifNotExists: true });
  }
  try {
    const started = performance.now();
    const { applied } = await migrate(url);
    const ms = (performance.now() - started).toFixed(0);
    console.log(applied ? `migrated ${redact(url)} in ${ms} ms` : `no migrations in ${MIGRATIONS_FOLDER} yet; nothing to do`);
  } finally {
    await stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`migrate failed: ${err?.message ?? err}`);
      process.exit(1);
    },
  );
}
