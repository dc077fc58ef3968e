import type { LegacyFacts } from "./tools/import-legacy/fixture.ts";

declare module "vitest" {
  interface ProvidedContext {
    databaseUrl: string;
    neonLocalProxy: string;
    paytmUrl: string;
    paytmMid: string;
    paytmKey: string;
    expoPushUrl: string;
    legacyImport: LegacyFacts;
  }
}
export {};
