// Paytm's JSON APIs and refund webhooks use `{"head":{"signature":...},"body":{...}}` where the
// signature covers the exact text of `body` (docs/payments.md §1.8). These helpers keep "the bytes we sign"
// and "the bytes we send/verify" the same string.

import { generateSignature, verifySignature } from "./checksum";

/** Serialise once, sign that text, and splice the same text into the envelope. */
export async function signedEnvelope(
  body: unknown,
  key: string,
  head: Record<string, string> = {},
): Promise<{ text: string; bodyJson: string; signature: string }> {
  const bodyJson = JSON.stringify(body);
  const signature = await generateSignature(bodyJson, key);
  const headJson = JSON.stringify({ ...head, signature });
  return { text: `{"head":${headJson},"body":${bodyJson}}`, bodyJson, signature };
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
  return i;
}

/** Index just past the closing quote of the string starting at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const ch = text[j];
    if (ch === "\\") j++;
    else if (ch === '"') return j + 1;
  }
  return -1;
}

/** Index just past the JSON value starting at `i`, or -1. */
function valueEnd(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return stringEnd(text, i);
  if (first === "{" || first === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const ch = text[j];
      if (ch === '"') {
        j = stringEnd(text, j) - 1;
        if (j < 0) return -1;
      } else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < text.length && !",}] \n\r\t".includes(text[j] ?? "")) j++;
  return j > i ? j : -1;
}

/**
 * The raw text of a top-level member of a JSON object (`"body"` for Paytm), exactly as received.
 * Returns null if the text is not an object, or if the member is missing or appears twice:
 * JSON.parse keeps the last duplicate, so a signature checked over one copy must not be trusted
 * for the other.
 */
export function rawJsonMember(text: string, name: string): string | null {
  let i = skipWhitespace(text, 0);
  if (text[i] !== "{") return null;
  i = skipWhitespace(text, i + 1);
  if (text[i] === "}") return null;
  let found: string | null = null;
  for (;;) {
    if (text[i] !== '"') return null;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return null;
    let key: unknown;
    try {
      key = JSON.parse(text.slice(i, keyEnd));
    } catch {
      return null;
    }
    i = skipWhitespace(text, keyEnd);
    if (text[i] !== ":") return null;
    i = skipWhitespace(text, i + 1);
    const end = valueEnd(text, i);
    if (end < 0) return null;
    if (key === name) {
      if (found !== null) return null;
      found = text.slice(i, end);
    }
    i = skipWhitespace(text, end);
    if (text[i] === ",") {
      i = skipWhitespace(text, i + 1);
      continue;
    }
    return text[i] === "}" ? found : null;
  }
}

export type VerifiedEnvelope =
  | { ok: true; head: Record<string, unknown>; body: Record<string, unknown>; bodyText: string; signed: boolean }
  | { ok: false; reason: "malformed" | "missing_signature" | "invalid_signature" };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parse a signed JSON envelope and check `head.signature` over the raw `body` text, falling back to
 * JSON.stringify(parsed body) (what Paytm's Node SDK does; docs/payments.md §1.8). The returned body is parsed
 * from the text that verified. `requireSignature: false` lets an unsigned envelope through as
 * `signed: false` (Paytm does not always sign failure responses); a present but wrong signature
 * always fails.
 */
export async function verifyEnvelope(text: string, key: string, options: { requireSignature: boolean }): Promise<VerifiedEnvelope> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const rawBody = rawJsonMember(text, "body");
  if (!isRecord(parsed) || !isRecord(parsed.body) || rawBody === null) return { ok: false, reason: "malformed" };
  const head = isRecord(parsed.head) ? parsed.head : {};
  const signature = head.signature;
  if (typeof signature !== "string" || signature.length === 0) {
    if (options.requireSignature) return { ok: false, reason: "missing_signature" };
    return { ok: true, head, body: parsed.body, bodyText: rawBody, signed: false };
  }
  if (await verifySignature(rawBody, key, signature)) {
    return { ok: true, head, body: JSON.parse(rawBody) as Record<string, unknown>, bodyText: rawBody, signed: true };
  }
  const reserialised = JSON.stringify(parsed.body);
  if (reserialised !== rawBody && (await verifySignature(reserialised, key, signature))) {
    return { ok: true, head, body: parsed.body, bodyText: reserialised, signed: true };
  }
  return { ok: false, reason: "invalid_signature" };
}
