/**
 * Who signs the users' tokens: by default a Cognito user pool and app client created here
 * (admins create users; email sign-in), or an existing OIDC issuer named in the props. Every
 * consumer reads `issuer` and `audience` only, so the two are interchangeable.
 */
import { Duration, Lazy, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import type { AuthSettings } from '../parley-props';

export interface AuthProps {
  readonly settings: AuthSettings;
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
}

export class Auth extends Construct {
  /** OIDC issuer URL (`iss` of the tokens). */
  readonly issuer: string;
  /** Accepted audience: the app client id. */
  readonly audience: string;
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;
  /** Cognito managed login (sign-in pages and the OAuth endpoints), with the user pool. */
  readonly userPoolDomain?: cognito.UserPoolDomain;
  /** Scopes the web app asks for. */
  readonly webScope = 'openid email profile';
  private readonly webCallbackUrls: string[] = [];
  private readonly webLogoutUrls: string[] = [];

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);
    if (props.settings.kind === 'oidc') {
      this.issuer = props.settings.issuer;
      this.audience = props.settings.audience;
      return;
    }

    const userPool = new cognito.UserPool(this, 'UserPool', {
      // Parley is an internal tool: an admin invites users (docs/deploy.md).
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Plus tier: threat protection blocks sign-ins with compromised credentials and risky patterns.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      removalPolicy: props.removalPolicy,
    });
    acknowledge(
      userPool,
      'AwsSolutions-COG2',
      'MFA is optional (TOTP) so admin-created users and scripts (USER_PASSWORD_AUTH) can get tokens; Plus-tier threat protection enforces adaptive authentication meanwhile. Set Mfa.REQUIRED once every client implements the TOTP setup challenge.',
    );

    const client = userPool.addClient('WebClient', {
      // A public client: the browser runs the authorization-code flow with PKCE, no secret.
      generateSecret: false,
      authFlows: { userSrp: true, userPassword: true },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        // Filled by addWebApp(): the web app's distribution is created after this client.
        callbackUrls: Lazy.list({ produce: () => this.webCallbackUrls }),
        logoutUrls: Lazy.list({ produce: () => this.webLogoutUrls }),
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
    });

    const stack = Stack.of(this);
    // Managed login on a Cognito domain. The prefix must be unique in the region across all
    // accounts: stage and account id make it so.
    this.userPoolDomain = userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: `parley-${props.stageName}-${stack.account}` },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    // Managed login (v2) shows a page only for an app client with a style; Cognito's default one.
    new cognito.CfnManagedLoginBranding(this, 'ManagedLoginBranding', {
      userPoolId: userPool.userPoolId,
      clientId: client.userPoolClientId,
      useCognitoProvidedValues: true,
    });
    this.userPool = userPool;
    this.userPoolClient = client;
    this.issuer = `https://cognito-idp.${stack.region}.${stack.urlSuffix}/${userPool.userPoolId}`;
    this.audience = client.userPoolClientId;
  }

  /**
   * Lets the web app at `origin` sign in: `<origin><callbackPath>` becomes an allowed redirect
   * URI and `<origin>/` an allowed sign-out URI. Returns the managed-login sign-out URL for the
   * web app's config, or undefined with an external issuer (its own end_session_endpoint).
   */
  addWebApp(origin: string, callbackPath: string): string | undefined {
    if (!this.userPoolDomain || !this.userPoolClient) return undefined;
    this.webCallbackUrls.push(`${origin}${callbackPath}`);
    this.webLogoutUrls.push(`${origin}/`);
    // logout_uri must be URL-encoded; the origin is `https://<host>`, a host needs no escaping.
    const encoded = `${origin.replace(/^https:\/\//, 'https%3A%2F%2F')}%2F`;
    return `${this.userPoolDomain.baseUrl()}/logout?client_id=${this.userPoolClient.userPoolClientId}&logout_uri=${encoded}`;
  }

  /** The origin of the managed-login domain (the browser posts to its /oauth2/token). */
  get signInOrigin(): string | undefined {
    return this.userPoolDomain?.baseUrl();
  }
}
