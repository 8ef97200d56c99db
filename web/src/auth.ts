/**
 * Sign-in: OpenID Connect authorization code with PKCE (oidc-client-ts), against Cognito's
 * managed login on AWS and the dev issuer locally. Tokens renew silently with the refresh
 * token; when that fails the browser goes back to sign in and returns to the page it was on.
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

interface SignInState {
  returnTo: string;
}

export class Auth {
  readonly manager: UserManager;
  private user: User | null = null;
  private readonly listeners = new Set<(user: User | null) => void>();
  private redirecting = false;

  constructor(private readonly config: WebConfig) {
    this.manager = new UserManager({
      authority: config.oidc.authority,
      client_id: config.oidc.clientId,
      redirect_uri: `${location.origin}${WEB_CALLBACK_PATH}`,
      post_logout_redirect_uri: `${location.origin}/`,
      response_type: 'code',
      scope: config.oidc.scope,
      automaticSilentRenew: true,
      loadUserInfo: false,
    });
    this.manager.events.addUserLoaded((user) => this.setUser(user));
    this.manager.events.addUserUnloaded(() => this.setUser(null));
    this.manager.events.addSilentRenewError(() => {
      // The refresh token is gone or refused: sign in again, keeping the page.
      void this.signIn();
    });
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

  private async renew(): Promise<User | null> {
    try {
      const user = await this.manager.signinSilent();
      this.setUser(user);
      return user;
    } catch {
      return null;
    }
  }

  private setUser(user: User | null): void {
    this.user = user;
    for (const fn of this.listeners) fn(user);
  }
}
