import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/context";
import { notFound } from "../http/errors";
import { describe } from "../http/meta";
import { params } from "../http/validate";

/** Public, immutable image objects written by storeImage (keys are unguessable uuids). */
export const mediaRoutes = new Hono<AppEnv>().get(
  "/:folder/:name",
  describe({ summary: "An uploaded image", tags: ["media"], access: "public" }),
  params(z.object({ folder: z.string().regex(/^[a-z0-9-]{1,40}$/), name: z.string().regex(/^[0-9a-f-]{36}\.(jpg|png|webp|gif|heic)$/) })),
  async (c) => {
    const { folder, name } = c.req.valid("param");
    const obj = await c.env.MEDIA.get(`${folder}/${name}`);
    if (!obj) throw notFound("Image");
    return new Response(obj.body, {
      headers: {
        "content-type": obj.httpMetadata?.contentType ?? "application/octet-stream",
        "cache-control": "public, max-age=31536000, immutable",
        etag: obj.httpEtag,
      },
    });
  },
);
