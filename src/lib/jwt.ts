import { compactVerify, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ROLES, type Role } from "./roles";

/**
 * Access tokens: HS256 JWTs, 15 minutes, with jti, role, session id and an explicit `typ` so a
 * refresh token (opaque, never a JWT) or any other token can never pass as an access token.
 * Both workers verify them (the edge to key its rate limit, the core to authenticate), so this file
 * loads nothing but jose and the role list; a refused token is a TokenError, which src/http/auth.ts
 * answers as 401.
 */
export const ACCESS_TTL_SECONDS = 15 * 60;
const ISSUER = "buildxpert";
const CLOCK_TOLERANCE_SECONDS = 30;
const keys = new Map<string, Uint8Array>();
const keyOf = (secret: string) => {
  let k = keys.get(secret);
  if (!k) {
    k = new TextEncoder().encode(secret);
    keys.set(secret, k);
  }
  return k;
};

/** Why a token was refused; the codes are the API's (src/http/errors.ts). */
export class TokenError extends Error {
  readonly code: "INVALID_TOKEN" | "TOKEN_EXPIRED";
  constructor(code: TokenError["code"]) {
    super(code === "TOKEN_EXPIRED" ? "Token expired" : "Invalid token");
    this.name = "TokenError";
    this.code = code;
  }
}

export type AccessClaims = { sub: string; role: Role; sid: string; jti: string; exp: number };

export async function signAccessToken(
  secret: string,
  claims: { userId: string; role: AccessClaims["role"]; sessionId: string; jti?: string },
  now = Date.now(),
) {
  // HS256 is deterministic: the same claims and iat give the same token, which is how a refresh
  // inside the reuse grace window hands back the very access token it minted (src/sessions/tokens.ts).
  const jti = claims.jti ?? crypto.randomUUID();
  const iat = Math.floor(now / 1000);
  const exp = iat + ACCESS_TTL_SECONDS;
  const token = await new SignJWT({ role: claims.role, sid: claims.sessionId, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keyOf(secret));
  return { token, jti, expiresAt: new Date(exp * 1000) };
}

export async function verifyAccessToken(secret: string, token: string): Promise<AccessClaims> {
  try {
    // maxTokenAge also makes jose require `iat` and refuse one in the future (more than clockTolerance ahead).
    const { payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: ["HS256"],
      issuer: ISSUER,
      maxTokenAge: ACCESS_TTL_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return accessClaims(payload as Record<string, unknown>);
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new TokenError("TOKEN_EXPIRED");
    throw new TokenError("INVALID_TOKEN");
  }
}

/**
 * The Socket.IO CONNECT token: everything `verifyAccessToken` checks (signature, algorithm, issuer,
 * `typ`, claims, `iat` not in the future) except expiry, which is reported instead of refused. The
 * apps hand their call socket one token and reconnect with it for as long as they run
 * (docs/api-contract.md §4.1), so the caller bounds an expired token by its session's lifetime
 * (src/realtime/identity.ts). HTTP requests never use this.
 */
export async function verifySocketToken(secret: string, token: string, now = Date.now()): Promise<AccessClaims & { expired: boolean }> {
  try {
    const { payload } = await compactVerify(token, keyOf(secret), { algorithms: ["HS256"] });
    const p = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    const nowSeconds = now / 1000;
    if (p.iss !== ISSUER || typeof p.iat !== "number" || p.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw new TokenError("INVALID_TOKEN");
    }
    const claims = accessClaims(p);
    const expired = claims.exp < nowSeconds - CLOCK_TOLERANCE_SECONDS || nowSeconds - p.iat > ACCESS_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
    return { ...claims, expired };
  } catch (err) {
    if (err instanceof TokenError) throw err;
    throw new TokenError("INVALID_TOKEN");
  }
}

function accessClaims(payload: Record<string, unknown>): AccessClaims {
  const { sub, role, sid, jti, exp, typ } = payload;
  if (typ !== "access" || typeof sub !== "string" || typeof sid !== "string" || typeof jti !== "string" || typeof exp !== "number") {
    throw new TokenError("INVALID_TOKEN");
  }
  const known = ROLES.find((r) => r === role);
  if (!known) throw new TokenError("INVALID_TOKEN");
  return { sub, role: known, sid, jti, exp };
}
