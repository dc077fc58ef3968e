import { MAX_IMAGE_BYTES } from "./store";

/**
 * Body limits of the calls that carry images (docs/api-contract.md §3.15), sized from what the apps send:
 * how many images one call can hold, each up to MAX_IMAGE_BYTES as a base64 data URL, plus 1 MiB for
 * the other fields and JSON escaping (line-wrapped base64), rounded up to whole MiB. A body the
 * per-image check would accept is never refused by the body limit. Workers accept up to 100 MB.
 */

const MiB = 1024 * 1024;

/** The provider app lets a provider pick 4 work photos, sent unshrunk (JPEG quality 0.7). */
export const WORKING_PROOF_PHOTOS = 4;

/** Length of the data URL that carries `bytes` bytes: 4 base64 characters per 3 bytes, plus the prefix. */
export const dataUrlLength = (bytes: number) => 4 * Math.ceil(bytes / 3) + 64;

export type MediaBody = { path: RegExp; what: string; maxBytes: number };

const mediaBody = (path: RegExp, what: string, images: number): MediaBody => ({
  path,
  what,
  maxBytes: Math.ceil((images * dataUrlLength(MAX_IMAGE_BYTES) + MiB) / MiB) * MiB,
});

export const MEDIA_BODIES: readonly MediaBody[] = [
  mediaBody(/^\/api\/auth\/signup$/, "a signup photo", 1),
  mediaBody(/^\/api\/users\/profile$/, "a profile photo", 1),
  // Register and edit (POST and PUT): the work photos plus the engineering certificate.
  mediaBody(/^\/api\/services\/[^/]+\/providers$/, "service registration photos", WORKING_PROOF_PHOTOS + 1),
];

/** "8 MB", "64 KB" (binary multiples), "1 MB" for 1,000,000: how the limit is named in the 413 message. */
export const sizeLabel = (bytes: number) =>
  bytes % MiB === 0 ? `${bytes / MiB} MB` : bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${Math.round(bytes / 1e5) / 10} MB`;
