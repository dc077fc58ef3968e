import type { Context } from "hono";
import type { Db } from "../db/client";
import type { Role } from "../db/schema";
import type { Config } from "../env";
import type { AccessClaims } from "../lib/jwt";
import type { Logger } from "../lib/log";

/** What an authenticated request carries after the auth middleware (src/http/auth.ts). */
export type Principal = { userId: string; role: Role; sessionId: string; jti: string };

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    config: Config;
    db: Db;
    principal?: Principal;
    /** The bearer token's verification, once per request (src/http/auth.ts verifiedClaims). */
    bearer?: Promise<{ claims: AccessClaims } | { error: unknown }>;
  };
};

export type AppContext = Context<AppEnv>;
