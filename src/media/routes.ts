import { Hono } from "hono";
import { z } from "zod";
import type { AppContext, AppEnv } from "../http/context";
import { notFound } from "../http/errors";
import { describe } from "../http/meta";
import { params } from "../http/validate";
import { MEDIA_FILE, MEDIA_KINDS } from "./store";

/**
 * Public, immutable image objects written by storeImage: `/media/<kind>/<owner>/<file>` for every
 * kind, and `/media/<kind>/<file>` for images stored before keys named their owner.
 */
export const mediaRoutes = new Hono<AppEnv>();

const kind = z.enum(MEDIA_KINDS);
const file = z.string().regex(MEDIA_FILE);
const image = { media: "image/*", description: "The image, immutable (cached for a year)" } as const;

async function serve(c: AppContext, key: string) {
  const obj = await c.env.MEDIA.get(key);
  if (!obj) throw notFound("Image");
  return new Response(obj.body, {
    headers: {
      "content-type": obj.httpMetadata?.contentType ?? "application/octet-stream",
      "cache-control": "public, max-age=31536000, immutable",
      etag: obj.httpEtag,
    },
  });
}

mediaRoutes.get(
  "/:kind/:owner/:name",
  describe({ summary: "An uploaded image", tags: ["media"], other: image }),
  params(z.object({ kind, owner: z.uuid(), name: file })),
  (c) => {
    const { kind, owner, name } = c.req.valid("param");
    return serve(c, `${kind}/${owner}/${name}`);
  },
);

mediaRoutes.get(
  "/:kind/:name",
  describe({ summary: "An uploaded image (stored before keys named their owner)", tags: ["media"], other: image }),
  params(z.object({ kind, name: file })),
  (c) => {
    const { kind, name } = c.req.valid("param");
    return serve(c, `${kind}/${name}`);
  },
);
