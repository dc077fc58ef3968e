import type { BodyLimit } from "../http/route-limits";
import { MAX_IMAGE_BYTES } from "./store";

/**
 * Body limits of the calls that carry images (docs/api-contract.md §3.15), sized from what the apps send:
 * how many images one call can hold, each up to MAX_IMAGE_BYTES as a base64 data URL, plus 1 MiB for
 * the other fields and JSON escaping (line-wrapped base64), rounded up to whole MiB. A body the
 * per-image check would accept is never refused by the body limit. Workers accept up to 100 MB.
 * The routes declare them (src/auth/limits.ts, src/users/limits.ts, src/listings/limits.ts).
 */

const MiB = 1024 * 1024;

/** The provider app lets a provider pick 4 work photos, sent unshrunk (JPEG quality 0.7). */
export const WORKING_PROOF_PHOTOS = 4;

/** Length of the data URL that carries `bytes` bytes: 4 base64 characters per 3 bytes, plus the prefix. */
export const dataUrlLength = (bytes: number) => 4 * Math.ceil(bytes / 3) + 64;

/** The body limit of a call that carries up to `images` images. */
export const imagesBody = (what: string, images: number): BodyLimit => ({
  what,
  maxBytes: Math.ceil((images * dataUrlLength(MAX_IMAGE_BYTES) + MiB) / MiB) * MiB,
});
