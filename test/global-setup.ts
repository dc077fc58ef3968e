/**
 * Runs once in Node before the workerd test pool starts: a real PostgreSQL (embedded 17, or the
 * server in DATABASE_URL) with a throwaway database, migrated and seeded with the catalogue; the
 * Neon front door; the Paytm sandbox; the Expo push mock; and a miniature old-backend database
 * imported with the legacy importer. Their addresses reach the worker through provide()/inject()
 * (vitest.config.ts).
 *
 * Each runtime of the pool (maxWorkers of them) gets a database of its own, a copy of the first. A
 * runtime is a world of its own, with its own Durable Objects and queues, while the outbox and the
 * cron sweeps act on every row of their database: sharing one, a runtime's dispatch would take
 * another's rows and deliver them to objects that have no sockets (a revoked session's socket would
 * stay open). One database per runtime is one world per runtime, as in production.
 */
import type { TestProject } from "vitest/node";
import { createDatabase, databaseUrlFor, dropDatabase } from "../scripts/db/embedded.mjs";
import { startStack } from "../scripts/stack.ts";
import { importFixtureInto } from "./tools/import-legacy/fixture.ts";

export const TEST_PAYTM = { mid: "BXTEST00000000000001", key: "testkey012345678" };

export default async function setup(project: TestProject) {
  const database = `bx_test_${process.pid}_${Date.now().toString(36)}`;
  const stack = await startStack({ persistent: false, database, fresh: true, demo: false, paytm: TEST_PAYTM });
  // The old backend's users, switched over by the legacy importer (test/import-legacy/).
  const legacy = await importFixtureInto(stack.databaseUrl);
  // Copies of the finished database (a template copy takes milliseconds; migrating again, seconds).
  const adminUrl = process.env.DATABASE_URL || databaseUrlFor(stack.databaseUrl, "postgres");
  const copies = Array.from({ length: Math.max(0, (project.config.maxWorkers ?? 1) - 1) }, (_, i) => `${database}_${i + 1}`);
  const databaseUrls = [stack.databaseUrl];
  for (const copy of copies) databaseUrls.push(await createDatabase(adminUrl, copy, { template: database }));

  project.provide("databaseUrl", stack.databaseUrl);
  project.provide("databaseUrls", databaseUrls);
  project.provide("neonLocalProxy", stack.neonLocalProxy);
  project.provide("paytmUrl", stack.paytmUrl);
  project.provide("paytmMid", TEST_PAYTM.mid);
  project.provide("paytmKey", TEST_PAYTM.key);
  project.provide("expoPushUrl", stack.expoPushUrl);
  project.provide("legacyImport", legacy.facts);
  return async () => {
    await legacy.drop().catch(() => {});
    for (const copy of copies) await dropDatabase(adminUrl, copy).catch(() => {});
    await stack.stop();
  };
}
