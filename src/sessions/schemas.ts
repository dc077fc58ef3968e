import { z } from "zod";

/** The token pair every sign-in and refresh answers with (docs/api-contract.md §2.1); the apps store it. */
export const TokenPair = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  accessTokenExpiresAt: z.string(),
  refreshTokenExpiresAt: z.string(),
  /** Legacy copy of the access token (docs/api-contract.md §2.1). */
  token: z.string(),
});
