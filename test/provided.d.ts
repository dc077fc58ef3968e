import type { LegacyFacts } from "./tools/import-legacy/fixture.ts";

declare module "vitest" {
  interface ProvidedContext {
    databaseUrl: string;
    /** One database per runtime of the workerd pool (test/global-setup.ts); the first is databaseUrl. */
    databaseUrls: string[];
    neonLocalProxy: string;
    paytmUrl: string;
    paytmMid: string;
    paytmKey: string;
    expoPushUrl: string;
    legacyImport: LegacyFacts;
  }
}
export {};
