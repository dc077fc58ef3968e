import { toHex } from "./bytes";

/**
 * HMAC-SHA-256 on Web Crypto, for values the server alone can mint and later recognise (refresh
 * tokens, OTP code hashes). Imported keys are cached per secret: importKey is the slow part.
 */
const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, k);
  }
  return k;
}

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(message)));
}

export const hmacHex = async (secret: string, message: string) => toHex(await hmacSha256(secret, message));
