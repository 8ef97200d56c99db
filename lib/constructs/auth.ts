/**
 * Who signs the users' tokens: by default a Cognito user pool and app client created here
 * (admins create users; email sign-in), or an existing OIDC issuer named in the props. Every
 * consumer reads `issuer` and `audience` only, so the two are interchangeable.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
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
      generateSecret: false,
      authFlows: { userSrp: true, userPassword: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
    });

    const stack = Stack.of(this);
    this.userPool = userPool;
    this.userPoolClient = client;
    this.issuer = `https://cognito-idp.${stack.region}.${stack.urlSuffix}/${userPool.userPoolId}`;
    this.audience = client.userPoolClientId;
  }
}
