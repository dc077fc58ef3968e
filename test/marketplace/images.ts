/**
 * Image data URLs as the apps send them: base64 inside the JSON body. The bytes carry a real JPEG
 * signature (the store sniffs the type from the magic bytes) and random filler, so a camera photo's
 * size can be reproduced without shipping one.
 */

/** A real 1x1 PNG. */
export const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/** `size` bytes starting with a JPEG/JFIF signature. */
export function jpegBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  bytes.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
  return bytes;
}

export function base64(bytes: Uint8Array): string {
  const native = (bytes as unknown as { toBase64?: () => string }).toBase64;
  if (native) return native.call(bytes);
  let out = "";
  // btoa over chunks whose length is a multiple of 3, so the pieces concatenate without padding.
  for (let i = 0; i < bytes.length; i += 3 * 16384) out += btoa(String.fromCharCode(...bytes.subarray(i, i + 3 * 16384)));
  return out;
}

export const jpegDataUrl = (bytes: Uint8Array) => `data:image/jpeg;base64,${base64(bytes)}`;

/** A provider registration body (docs/api-contract.md §3.5) with the given images. */
export function registrationBody(
  subServices: { serviceId: string; price: number }[],
  images: { workingProofUrls?: string[]; engineeringCertificateUrl?: string; isEngineeringProvider?: boolean } = {},
) {
  return {
    yearsOfExperience: 6,
    serviceDescription: "Site work with photos",
    state: "Karnataka",
    city: "Hubballi",
    fullAddress: "4 Station Road, Hubballi",
    isEngineeringProvider: false,
    subServices,
    ...images,
  };
}
