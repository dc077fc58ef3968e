/**
 * Runs once in Node before the workerd test pool starts: a real PostgreSQL (embedded 17, or the
 * server in DATABASE_URL) with a throwaway database, migrated and seeded with the catalogue; the
 * Neon front door; the Paytm sandbox; the Expo push mock; and a miniature old-backend database
 * imported with the legacy importer. Their addresses reach the worker through provide()/inject()
 * (vitest.config.ts).
 */
import type { TestProject } from "vitest/node";
import { startStack } from "../scripts/stack.ts";
import { importFixtureInto } from "./tools/import-legacy/fixture.ts";

export const TEST_PAYTM = { mid: "BXTEST00000000000001", key: "testkey012345678" };

export default async function setup(project: TestProject) {
  const stack = await startStack({
    persistent: false,
    database: `bx_test_${process.pid}_${Date.now().toString(36)}`,
    fresh: true,
    demo: false,
    paytm: TEST_PAYTM,
  });
  project.provide("databaseUrl", stack.databaseUrl);
  project.provide("neonLocalProxy", stack.neonLocalProxy);
  project.provide("paytmUrl", stack.paytmUrl);
  project.provide("paytmMid", TEST_PAYTM.mid);
  project.provide("paytmKey", TEST_PAYTM.key);
  project.provide("expoPushUrl", stack.expoPushUrl);
  // The old backend's users, switched over by the legacy importer (test/import-legacy/).
  const legacy = await importFixtureInto(stack.databaseUrl);
  project.provide("legacyImport", legacy.facts);
  return async () => {
    await legacy.drop().catch(() => {});
    await stack.stop();
  };
}
