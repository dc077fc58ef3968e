import { AppError } from "../http/errors";

/**
 * Images arrive as `data:image/*;base64,...` URLs inside JSON bodies (docs/api-contract.md §3.15). We
 * trust neither the declared type nor the size: the type comes from the magic bytes, the size is
 * capped, and the object is stored in R2 under a key that names its owner and served back from /media/.
 */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,([A-Za-z0-9+/=\s]+)$/i;

/** What a stored image is for: the first segment of its key. */
export const MEDIA_KINDS = ["profile-pictures", "working-proofs", "certificates"] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const FILE = `${UUID}\\.(?:jpg|png|webp|gif|heic)`;
export const MEDIA_FILE = new RegExp(`^${FILE}$`);
/**
 * The one key scheme for every stored image: `<kind>/<owner user id>/<uuid>.<ext>`. The owner segment
 * is what lets a profile or listing accept, and delete, only its caller's images. Keys written before
 * owners were recorded (`<kind>/<uuid>.<ext>`) stay readable, with no owner: nobody may adopt or delete them.
 */
const MEDIA_KEY = new RegExp(`^(${MEDIA_KINDS.join("|")})/(?:(${UUID})/)?${FILE}$`);

export type MediaKey = { key: string; kind: MediaKind; owner: string | null };

export function parseMediaKey(key: string): MediaKey | null {
  const m = MEDIA_KEY.exec(key);
  return m ? { key, kind: m[1] as MediaKind, owner: m[2] ?? null } : null;
}

/** Where images are kept and served from. */
export type MediaStore = { env: Pick<Env, "MEDIA">; publicBaseUrl: string };
/** The store, acting for one account: what it stores is keyed under that account. */
export type MediaOwner = MediaStore & { userId: string };

const mediaBase = (publicBaseUrl: string) => new URL(`${publicBaseUrl.replace(/\/$/, "")}/media/`);
const mediaUrl = (publicBaseUrl: string, key: string) => `${publicBaseUrl.replace(/\/$/, "")}/media/${key}`;

export function isDataUrl(value: string): boolean {
  return value.startsWith("data:");
}

/**
 * A URL on our own origin (where we serve `/media/...`), with the stored image it names, if any.
 * Parsed rather than prefix-matched, so host case, default ports and dot segments cannot dress one
 * account's image up as another's. Null for URLs elsewhere.
 */
function onOurOrigin(value: string, publicBaseUrl: string): { image: MediaKey | null } | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const base = mediaBase(publicBaseUrl);
  if (url.origin !== base.origin) return null;
  const named = url.pathname.startsWith(base.pathname) && !url.search && !url.hash;
  return { image: named ? parseMediaKey(url.pathname.slice(base.pathname.length)) : null };
}

/** True for any URL on our origin (http locally), whoever's image it names. */
export function isOurUrl(value: string, publicBaseUrl: string): boolean {
  return value.length <= 2100 && onOurOrigin(value, publicBaseUrl) !== null;
}

/** Decodes and checks an image data URL; throws a 400 (or 413) the apps can show, naming the field. */
export function decodeImageDataUrl(
  dataUrl: string,
  field = "image",
  maxBytes = MAX_IMAGE_BYTES,
): { bytes: Uint8Array; type: string; ext: string } {
  const m = DATA_URL.exec(dataUrl);
  if (!m)
    throw new AppError("VALIDATION_ERROR", "Image must be a data:image/*;base64 URL", {
      errors: [{ field, message: "not an image data URL" }],
    });
  const b64 = m[1]!.replace(/\s+/g, "");
  if ((b64.length * 3) / 4 > maxBytes + 4)
    throw new AppError("PAYLOAD_TOO_LARGE", `Image is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`, {
      errors: [{ field, message: `larger than ${Math.round(maxBytes / 1024 / 1024)} MB` }],
    });
  let bytes: Uint8Array;
  try {
    bytes = base64Bytes(b64);
  } catch {
    throw new AppError("VALIDATION_ERROR", "Image data is not valid base64", { errors: [{ field, message: "not valid base64" }] });
  }
  const sig = SIGNATURES.find((s) => s.test(bytes));
  if (!sig)
    throw new AppError("VALIDATION_ERROR", "Unsupported image type (use JPEG, PNG, WebP, GIF or HEIC)", {
      errors: [{ field, message: "not a JPEG, PNG, WebP, GIF or HEIC image" }],
    });
  return { bytes, type: sig.type, ext: sig.ext };
}

/**
 * Native base64 decoding where the runtime has it (workerd does): a 5 MB photo decodes in
 * milliseconds, where a per-character JS loop costs about a second of CPU.
 */
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
function base64Bytes(b64: string): Uint8Array {
  if (nativeFromBase64) return nativeFromBase64(b64);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

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

/** One image field of a request: what it sent, what it stores, its name in errors, and the value(s) it holds now. */
export type ImageInput = { value: string; kind: MediaKind; field: string; current?: readonly (string | null | undefined)[] };

/** The entries of a list field (`workingProofUrls.0`, `.1`, ...). */
export const imageList = (values: readonly string[], slot: Omit<ImageInput, "value">): ImageInput[] =>
  values.map((value, i) => ({ ...slot, value, field: `${slot.field}.${i}` }));

const HTTPS_URL = /^https:\/\/\S{1,2000}$/i;

type Checked = { url: string } | { key: string; image: ReturnType<typeof decodeImageDataUrl> };

/**
 * What an app sent for an image field, checked:
 * - a data:image URL is decoded, to be stored as the caller's;
 * - a URL on our origin is kept only when it names an image the caller owns, or is the value the
 *   field already holds, sent back unchanged (the apps resend stored URLs on every save);
 * - any other https URL (the provider app's Cloudinary uploads, the user app's default photo) is kept;
 * - anything else is a 400 naming the field.
 */
function checkImage(owner: MediaOwner, input: ImageInput): Checked {
  const { value, field } = input;
  if (isDataUrl(value)) {
    const image = decodeImageDataUrl(value, field);
    return { key: `${input.kind}/${owner.userId}/${crypto.randomUUID()}.${image.ext}`, image };
  }
  const ours = value.length <= 2100 ? onOurOrigin(value, owner.publicBaseUrl) : null;
  if (ours) {
    if (ours.image?.owner === owner.userId) return { url: mediaUrl(owner.publicBaseUrl, ours.image.key) };
    if (input.current?.includes(value)) return { url: value };
    throw new AppError("VALIDATION_ERROR", "That image is not one of your uploads; send the photo itself", {
      errors: [{ field, message: "not an image stored for this account" }],
    });
  }
  if (HTTPS_URL.test(value)) return { url: value };
  throw new AppError("VALIDATION_ERROR", "Images must be data:image URLs or https URLs", {
    errors: [{ field, message: "must be a data:image/* URL or an https URL" }],
  });
}

/**
 * Turns the image fields of one request into the URLs to save, in order. Every field is checked
 * before anything is stored, so a refused request stores nothing, and the response waits for every
 * upload to settle (none is left running after it).
 */
export async function acceptImages(owner: MediaOwner, inputs: readonly ImageInput[]): Promise<string[]> {
  const checked = inputs.map((input) => checkImage(owner, input));
  const stored = await Promise.allSettled(
    checked.map(async (c) => {
      if ("url" in c) return c.url;
      await owner.env.MEDIA.put(c.key, c.image.bytes, {
        httpMetadata: { contentType: c.image.type, cacheControl: "public, max-age=31536000, immutable" },
      });
      return mediaUrl(owner.publicBaseUrl, c.key);
    }),
  );
  const failed = stored.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return stored.map((r) => (r as PromiseFulfilledResult<string>).value);
}

export async function acceptImage(owner: MediaOwner, input: ImageInput): Promise<string> {
  const [url] = await acceptImages(owner, [input]);
  return url!;
}

/**
 * The key of `url` if it is a stored image of this kind that the owner owns: the only objects a save
 * may delete when it replaces or removes an image. Old-format keys (no owner) are never deleted.
 */
export function ownedMediaKey(owner: MediaOwner, url: string | null | undefined, kind: MediaKind): string | null {
  const image = url ? onOurOrigin(url, owner.publicBaseUrl)?.image : null;
  return image && image.owner === owner.userId && image.kind === kind ? image.key : null;
}
