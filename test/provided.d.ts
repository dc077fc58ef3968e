declare module "vitest" {
  interface ProvidedContext {
    databaseUrl: string;
    neonLocalProxy: string;
    paytmUrl: string;
    paytmMid: string;
    paytmKey: string;
    expoPushUrl: string;
  }
}
export {};
