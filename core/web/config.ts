/**
 * The web app's runtime configuration: `GET /config.json` beside the built app. One build serves
 * every stage; the CDK `WebApp` construct writes this file at deploy time and local mode serves
 * it from the running stack. The browser validates it on load (a bad file is a clear error page).
 */
import { z } from 'zod';

export const WebConfigSchema = z.object({
  /** Stage name, shown in the page header (`local` in local mode). */
  stage: z.string().min(1),
  /** The realtime API's WebSocket URL (`wss://…/{stage}`, `ws://` locally); the token goes in `?token=`. */
  wsUrl: z.string().url(),
  /** The REST API's base URL, without a trailing slash. */
  restUrl: z.string().url(),
  /** OpenID Connect: authorization-code flow with PKCE against this issuer. */
  oidc: z.object({
    /** Issuer URL; `{authority}/.well-known/openid-configuration` must be reachable from the browser. */
    authority: z.string().url(),
    clientId: z.string().min(1),
    scope: z.string().min(1),
    /**
     * Where "sign out" sends the browser when the issuer has no `end_session_endpoint`
     * (Cognito's managed login: `https://{domain}/logout?client_id=…&logout_uri=…`).
     */
    logoutUrl: z.string().url().optional(),
  }),
  /** Local mode only: recordings a new meeting can play, as `local://recordings/<name>` meeting URLs. */
  recordings: z.array(z.string()).optional(),
});

export type WebConfig = z.infer<typeof WebConfigSchema>;

/** The OAuth client id of the web app in local mode (the dev issuer accepts only this one). */
export const LOCAL_WEB_CLIENT_ID = 'parley-web';
/** The callback path the web app handles, on every stage. */
export const WEB_CALLBACK_PATH = '/callback';
