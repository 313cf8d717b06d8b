/**
 * OpenAPI declarations shared by the domains' routes (docs/api.md): the security requirements and the schemes they
 * name (registered in app.ts).
 */

/** `Authorization: Bearer` with an access token or a personal API key. */
export const BEARER_AUTH: { [scheme: string]: string[] }[] = [{ bearer: [] }];

/**
 * Download and event-stream routes (`DL`): either the bearer header, or a single-use `?token=` from
 * `POST /api/auth/download-token` (for `<a href>` and `EventSource`, which cannot send headers).
 */
export const DOWNLOAD_AUTH: { [scheme: string]: string[] }[] = [{ bearer: [] }, { downloadToken: [] }];

export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'Access token (POST /api/auth/login) or personal API key (vw_..., POST /api/auth/api-keys)',
  },
  downloadToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      'Single-use download token from POST /api/auth/download-token, bound to one action and resource; only on download and event-stream routes',
  },
  admin: { type: 'apiKey', in: 'header', name: 'X-Admin-Token', description: 'VIOLAWAKE_ADMIN_TOKEN' },
} as const;
