import { AppError } from "../http/errors";

/**
 * Images arrive as `data:image/*;base64,...` URLs inside JSON bodies (client-contract §3.15). We
 * trust neither the declared type nor the size: the type comes from the magic bytes, the size is
 * capped, and the object is stored under an unguessable key in R2 and served back from /media/.
 */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,([A-Za-z0-9+/=\s]+)$/i;

const SIGNATURES: { type: string; ext: string; test: (b: Uint8Array) => boolean }[] = [
  { type: "image/jpeg", ext: "jpg", test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: "image/png", ext: "png", test: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  {
    type: "image/webp",
    ext: "webp",
    test: (b) => String.fromCharCode(...b.slice(0, 4)) === "RIFF" && String.fromCharCode(...b.slice(8, 12)) === "WEBP",
  },
  { type: "image/gif", ext: "gif", test: (b) => String.fromCharCode(...b.slice(0, 4)) === "GIF8" },
  {
    type: "image/heic",
    ext: "heic",
    test: (b) => String.fromCharCode(...b.slice(4, 8)) === "ftyp" && /^(heic|heix|mif1|msf1)$/.test(String.fromCharCode(...b.slice(8, 12))),
  },
];

export function isDataUrl(value: string): boolean {
  return value.startsWith("data:");
}

/**
 * A URL we handed out ourselves (`${PUBLIC_BASE_URL}/media/...`). The apps send stored URLs back
 * unchanged on every profile save and listing edit; locally PUBLIC_BASE_URL is http, so "https only"
 * alone would refuse our own URLs there.
 */
export function isOwnMediaUrl(value: string, publicBaseUrl: string): boolean {
  return value.length <= 2100 && value.startsWith(`${publicBaseUrl.replace(/\/$/, "")}/media/`) && !/\s/.test(value);
}

/** Decodes and checks an image data URL; throws a 400 the apps can show. */
export function decodeImageDataUrl(dataUrl: string, maxBytes = MAX_IMAGE_BYTES): { bytes: Uint8Array; type: string; ext: string } {
  const m = DATA_URL.exec(dataUrl);
  if (!m)
    throw new AppError("VALIDATION_ERROR", "Image must be a data:image/*;base64 URL", {
      errors: [{ field: "image", message: "not an image data URL" }],
    });
  const b64 = m[1]!.replace(/\s+/g, "");
  if ((b64.length * 3) / 4 > maxBytes + 4)
    throw new AppError("PAYLOAD_TOO_LARGE", `Image is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  } catch {
    throw new AppError("VALIDATION_ERROR", "Image data is not valid base64");
  }
  const sig = SIGNATURES.find((s) => s.test(bytes));
  if (!sig) throw new AppError("VALIDATION_ERROR", "Unsupported image type (use JPEG, PNG, WebP, GIF or HEIC)");
  return { bytes, type: sig.type, ext: sig.ext };
}

/** Stores a data-URL image and returns its public https URL (`${PUBLIC_BASE_URL}/media/<key>`). */
export async function storeImage(
  env: Pick<Env, "MEDIA">,
  publicBaseUrl: string,
  prefix: string,
  dataUrl: string,
  maxBytes = MAX_IMAGE_BYTES,
): Promise<string> {
  const img = decodeImageDataUrl(dataUrl, maxBytes);
  const key = `${prefix}/${crypto.randomUUID()}.${img.ext}`;
  await env.MEDIA.put(key, img.bytes, { httpMetadata: { contentType: img.type, cacheControl: "public, max-age=31536000, immutable" } });
  return `${publicBaseUrl.replace(/\/$/, "")}/media/${key}`;
}
