/**
 * Sign-in: OpenID Connect authorization code with PKCE (oidc-client-ts), against Cognito's
 * managed login on AWS and the dev issuer locally. Tokens renew silently with the refresh
 * token a minute before they expire (and on demand); when that fails the browser goes back to
 * sign in and returns to the page it was on.
 */
import { type User, UserManager } from 'oidc-client-ts';
import { WEB_CALLBACK_PATH, type WebConfig } from '../../core/web/config';
import { navigate } from './router';

export class SessionExpiredError extends Error {
  override name = 'SessionExpiredError';
  constructor() {
    super('Your session expired; signing in again…');
  }
}

/** Renew this long before the access token expires (oidc-client-ts's own default is 60 s). */
const RENEW_BEFORE_EXPIRY_S = 60;
const RENEW_BEFORE_EXPIRY_MIN_DELAY_S = 5;

interface SignInState {
  returnTo: string;
}

export class Auth {
  readonly manager: UserManager;
  private user: User | null = null;
  private readonly listeners = new Set<(user: User | null) => void>();
  private redirecting = false;
  private renewing: Promise<User | null> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly config: WebConfig) {
    this.manager = new UserManager({
      authority: config.oidc.authority,
      client_id: config.oidc.clientId,
      redirect_uri: `${location.origin}${WEB_CALLBACK_PATH}`,
      post_logout_redirect_uri: `${location.origin}/`,
      response_type: 'code',
      scope: config.oidc.scope,
      // Renewal is ours (single-flight, below): refresh tokens rotate, so two renewals racing
      // with the same one would sign the user out.
      automaticSilentRenew: false,
      loadUserInfo: false,
    });
    this.manager.events.addUserLoaded((user) => this.setUser(user));
    this.manager.events.addUserUnloaded(() => this.setUser(null));
  }

  /** Finishes a sign-in redirect, or restores the session (renewing an expired access token). */
  async init(): Promise<User | null> {
    if (location.pathname === WEB_CALLBACK_PATH) {
      const user = await this.manager.signinRedirectCallback();
      this.setUser(user);
      const returnTo = (user.state as SignInState | undefined)?.returnTo ?? '/';
      navigate(returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : '/', true);
      return user;
    }
    let user = await this.manager.getUser();
    if (user?.expired) user = await this.renew();
    this.setUser(user);
    return user;
  }

  get current(): User | null {
    return this.user;
  }

  /** The user id the APIs know you by (the token's `sub`). */
  get userId(): string | undefined {
    return this.user?.profile.sub;
  }

  onChange(fn: (user: User | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async signIn(): Promise<void> {
    if (this.redirecting) return;
    this.redirecting = true;
    const state: SignInState = { returnTo: `${location.pathname}${location.search}${location.hash}` };
    await this.manager.signinRedirect({ state });
  }

  async signOut(): Promise<void> {
    const metadata = await this.manager.metadataService.getMetadata().catch(() => undefined);
    if (metadata?.end_session_endpoint) {
      await this.manager.signoutRedirect();
      return;
    }
    await this.manager.removeUser();
    if (this.config.oidc.logoutUrl) location.assign(this.config.oidc.logoutUrl);
    else location.assign('/');
  }

  /** A valid access token; renews it when expired, else sends the browser to sign in. */
  async accessToken(): Promise<string> {
    let user = this.user ?? (await this.manager.getUser());
    if (!user || user.expired || (user.expires_in ?? 0) < 10) user = await this.renew();
    if (!user) {
      void this.signIn();
      throw new SessionExpiredError();
    }
    return user.access_token;
  }

  /** Called after a 401: the token may have been revoked or the clock is off; try once more. */
  async renewAfterRejection(): Promise<string> {
    const user = await this.renew();
    if (!user) {
      void this.signIn();
      throw new SessionExpiredError();
    }
    return user.access_token;
  }

  /**
   * One renewal at a time (refresh token grant); null when it fails. Without a refresh token there
   * is nothing to renew with: oidc-client-ts would fall back to a hidden-iframe sign-in
   * (`prompt=none`), which neither Cognito's managed login nor the dev issuer answers, and the user
   * would wait out its 10 s timeout before being sent to sign in.
   */
  private renew(): Promise<User | null> {
    this.renewing ??= this.manager
      .getUser()
      .then(async (stored) => {
        if (!stored?.refresh_token) return null;
        const user = await this.manager.signinSilent();
        this.setUser(user);
        return user;
      })
      .catch(() => null)
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  private setUser(user: User | null): void {
    this.user = user;
    this.scheduleRenewal(user);
    for (const fn of this.listeners) fn(user);
  }

  /** Renews a minute before the access token expires; a failed renewal goes back to sign in. */
  private scheduleRenewal(user: User | null): void {
    clearTimeout(this.renewTimer);
    if (!user || user.expires_in === undefined) return;
    const delaySeconds = Math.max(RENEW_BEFORE_EXPIRY_MIN_DELAY_S, user.expires_in - RENEW_BEFORE_EXPIRY_S);
    this.renewTimer = setTimeout(async () => {
      if (!(await this.renew())) void this.signIn();
    }, delaySeconds * 1000);
  }
}
