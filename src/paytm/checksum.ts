// PaytmChecksum re-implemented on WebCrypto (runs in workerd and Node 22).
// Spec: docs/payments.md §1.8. Oracle: npm `paytmchecksum@1.5.1`,
// cross-checked by test/payments/checksum-oracle.ts.
//
//   checksum = base64(AES-CBC(key = utf8(merchantKey), iv = "@@@@&&&&####$$$$", PKCS#7,
//                             hex(SHA-256(utf8(payload + "|" + salt))) + salt))
//
// Node-side tools import this file directly, without a resolver for extensionless imports: its one
// relative import therefore names the file, and that file imports nothing.

import { constantTimeEqualStrings, sha256Hex } from "../lib/bytes.ts";

const IV = new TextEncoder().encode("@@@@&&&&####$$$$");
const SALT_LENGTH = 4;
const CHECKSUM_FIELD = "CHECKSUMHASH";

export type PaytmParams = Record<string, string | null>;

/** Thrown by generateSignature for a merchant key that cannot be used (verify fails closed instead). */
export class PaytmKeyError extends Error {
  constructor(byteLength: number) {
    super(`Paytm merchant key must be 16, 24 or 32 bytes of UTF-8 (got ${byteLength} bytes)`);
    this.name = "PaytmKeyError";
  }
}

// npm 1.5.1 hard-codes AES-128-CBC (16-byte keys only, anything else throws). Paytm's own Node SDK
// (EncDecUtil.ts), the Python lib (pycryptodome picks by key length) and Juspay pick AES-128/192/256
// by key length 16/24/32, so we do too. Every other length fails closed.
function keyBytes(key: string): Uint8Array<ArrayBuffer> | null {
  const bytes = new Uint8Array(new TextEncoder().encode(key)); // copy: a plain ArrayBuffer for importKey typings
  return bytes.length === 16 || bytes.length === 24 || bytes.length === 32 ? bytes : null;
}

export function isUsableMerchantKey(key: string): boolean {
  return keyBytes(key) !== null;
}

// Imported keys are cached per key string: importKey is the slow part and a worker isolate signs
// with one or two keys for its whole life. Bounded so a misbehaving caller cannot grow it forever.
const KEY_CACHE_LIMIT = 32;
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>; // CryptoKey, without relying on DOM/workers type names
const keyCache = new Map<string, Promise<AesKey>>();

function importAesKey(key: string, bytes: Uint8Array<ArrayBuffer>): Promise<AesKey> {
  const cached = keyCache.get(key);
  if (cached) return cached;
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  const imported = crypto.subtle.importKey("raw", bytes, { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
  keyCache.set(key, imported);
  imported.catch(() => keyCache.delete(key));
  return imported;
}

// npm: sha256(finalString) hashes the JS string as UTF-8, salt included (the salt is whatever the
// last 4 chars of the latin1-decoded plaintext are, so it may be non-ASCII in a forged checksum).
async function calculateHash(payload: string, salt: string): Promise<string> {
  return (await sha256Hex(`${payload}|${salt}`)) + salt;
}

function randomSalt(): string {
  // npm: base64(randomBytes(3)), so the salt alphabet includes '+' and '/'.
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return btoa(String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0));
}

function latin1Bytes(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function base64Encode(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64Decode(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    return latin1Bytes(atob(text));
  } catch {
    return null;
  }
}

function assertParamValues(params: PaytmParams): void {
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && typeof value !== "string") {
      throw new TypeError(`Paytm param ${name} must be a string or null (got ${typeof value})`);
    }
  }
}

// Keys in the order npm 1.5.1 really joins them: it sorts with Array.prototype.sort(), copies into
// a fresh object and calls Object.values(), so integer-like keys ("0", "12") come first in numeric
// order and the rest in UTF-16 code-unit order. Paytm's field names never look like integers, but
// the oracle does not care about "never".
function isArrayIndexKey(key: string): boolean {
  return /^(?:0|[1-9][0-9]*)$/.test(key) && Number(key) < 4294967295;
}

function npmKeyOrder(keys: string[]): string[] {
  const sorted = [...keys].sort();
  const indexKeys = sorted.filter(isArrayIndexKey).sort((a, b) => Number(a) - Number(b));
  return [...indexKeys, ...sorted.filter((k) => !isArrayIndexKey(k))];
}

export interface ParamsStringOptions {
  /**
   * npm <= 1.5.0, the Python and PHP libs also blank the *string* "null" (case-insensitive);
   * npm 1.5.1 blanks only a real null. Default: the 1.5.1 rule.
   */
  legacyNullString?: boolean;
  /** Plain sorted order (Python's sorted()) instead of npm's Object.values() order. */
  plainSort?: boolean;
}

/** getStringByParams: values (never keys) sorted by key, joined with '|', CHECKSUMHASH removed. */
export function paramsToSignString(params: PaytmParams, options: ParamsStringOptions = {}): string {
  const keys = Object.keys(params).filter((k) => k !== CHECKSUM_FIELD);
  const ordered = options.plainSort ? [...keys].sort() : npmKeyOrder(keys);
  return ordered
    .map((k) => {
      const value = params[k];
      if (value === null || value === undefined) return "";
      if (options.legacyNullString && value.toLowerCase() === "null") return "";
      return value;
    })
    .join("|");
}

// The strings a Paytm signer could have signed for these params. The first is what we generate;
// the others cover the documented version drift ('null' rule, key order) so a genuine Paytm
// callback still verifies. Each candidate is a fixed function of the received fields, so this
// widens nothing an attacker without the key can use.
function candidateSignStrings(params: PaytmParams): string[] {
  const variants = [
    paramsToSignString(params),
    paramsToSignString(params, { legacyNullString: true }),
    paramsToSignString(params, { plainSort: true }),
    paramsToSignString(params, { plainSort: true, legacyNullString: true }),
  ];
  return [...new Set(variants)];
}

/**
 * Paytm signature over a JSON body string (signed exactly as given: sign the bytes you send) or over
 * form params (CHECKSUMHASH is ignored). `salt` is for test vectors only: 4 printable ASCII chars.
 */
export async function generateSignature(body: string | PaytmParams, key: string, salt?: string): Promise<string> {
  const bytes = keyBytes(key);
  if (!bytes) throw new PaytmKeyError(new TextEncoder().encode(key).length);
  if (salt !== undefined && !/^[\x20-\x7e]{4}$/.test(salt)) {
    throw new TypeError("Paytm checksum salt must be exactly 4 printable ASCII characters");
  }
  let payload: string;
  if (typeof body === "string") {
    payload = body;
  } else {
    assertParamValues(body);
    payload = paramsToSignString(body);
  }
  const hashString = await calculateHash(payload, salt ?? randomSalt());
  const aesKey = await importAesKey(key, bytes);
  const encrypted = await crypto.subtle.encrypt({ name: "AES-CBC", iv: IV }, aesKey, latin1Bytes(hashString));
  return base64Encode(encrypted);
}

/** True iff `checksum` is a valid Paytm signature of `body` under `key`. Never throws on bad input. */
export async function verifySignature(body: string | PaytmParams, key: string, checksum: string): Promise<boolean> {
  const bytes = keyBytes(key);
  // A genuine checksum is 108 chars; anything far longer is not worth decrypting.
  if (!bytes || typeof checksum !== "string" || checksum.length === 0 || checksum.length > 512) return false;
  let candidates: string[];
  if (typeof body === "string") {
    candidates = [body];
  } else {
    assertParamValues(body);
    candidates = candidateSignStrings(body);
  }
  const cipherBytes = base64Decode(checksum);
  if (!cipherBytes || cipherBytes.length === 0 || cipherBytes.length % 16 !== 0) return false;

  let decrypted: string;
  try {
    const aesKey = await importAesKey(key, bytes);
    const plain = await crypto.subtle.decrypt({ name: "AES-CBC", iv: IV }, aesKey, cipherBytes);
    // npm decrypts to a 'binary' (latin1) string and takes the salt from its last 4 chars.
    decrypted = String.fromCharCode(...new Uint8Array(plain));
  } catch {
    return false; // bad padding: wrong key or tampered checksum
  }
  if (decrypted.length <= SALT_LENGTH) return false;
  const salt = decrypted.slice(-SALT_LENGTH);
  let ok = false;
  for (const candidate of candidates) {
    // Check every candidate so timing says nothing about which one matched.
    if (constantTimeEqualStrings(decrypted, await calculateHash(candidate, salt))) ok = true;
  }
  return ok;
}
