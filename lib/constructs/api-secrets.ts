/**
 * Third-party secrets: the Deepgram and Recall.ai API keys and Recall's webhook signing secret,
 * which Parley needs, and the OpenAI API key, which it does not. The stack creates the needed
 * ones with a random placeholder that the operator replaces after deploy (docs/deploy.md); a
 * secret named in the props is imported instead. OpenAI is used only when its secret is named:
 * without it the handlers' embedded engines answer (a placeholder would make them call OpenAI
 * with a wrong key). Values never reach the template or an environment variable: Lambdas get
 * `<NAME>_SECRET_ARN`, the container gets the value injected by ECS from Secrets Manager.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

export interface ApiSecretsProps {
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
  /** Existing secrets to use instead of creating them. */
  readonly existingNames: Readonly<Partial<Record<ApiSecretKey, string>>>;
}

export const API_SECRETS = {
  deepgram: {
    id: 'DeepgramApiKey',
    description: 'Deepgram API key used by the audio gateway for live transcription',
  },
  recall: {
    id: 'RecallApiKey',
    description: 'Recall.ai API key (of the region in RECALL_BASE_URL) for meeting bots',
  },
  openai: {
    id: 'OpenAiApiKey',
    description: 'OpenAI API key for briefings and answers (optional; imported only)',
  },
  recallWebhook: {
    id: 'RecallWebhookSecret',
    description: 'Recall.ai workspace webhook signing secret (whsec_...) for bot status webhooks',
  },
} as const;

export type ApiSecretKey = keyof typeof API_SECRETS;

export class ApiSecrets extends Construct {
  readonly deepgram: secretsmanager.ISecret;
  readonly recall: secretsmanager.ISecret;
  /** Only when an existing secret is named: OpenAI is an optional feature. */
  readonly openai?: secretsmanager.ISecret;
  readonly recallWebhook: secretsmanager.ISecret;
  /** The secrets this stack created (the operator must put their values). */
  readonly created: { readonly key: ApiSecretKey; readonly secret: secretsmanager.Secret }[] = [];

  constructor(scope: Construct, id: string, props: ApiSecretsProps) {
    super(scope, id);
    const make = (key: ApiSecretKey): secretsmanager.ISecret => {
      const spec = API_SECRETS[key];
      const existing = props.existingNames[key];
      if (existing !== undefined) return secretsmanager.Secret.fromSecretNameV2(this, spec.id, existing);
      const secret = new secretsmanager.Secret(this, spec.id, {
        description: `Parley ${props.stageName}: ${spec.description}. Put the real value after deploy.`,
        // A random placeholder until the operator puts the key (docs/deploy.md).
        generateSecretString: { passwordLength: 32, excludePunctuation: true },
        removalPolicy: props.removalPolicy,
      });
      acknowledge(
        secret,
        'AwsSolutions-SMG4',
        'A third-party credential: it is rotated at the vendor and put here by the operator; no rotation Lambda can mint one.',
      );
      this.created.push({ key, secret });
      return secret;
    };
    this.deepgram = make('deepgram');
    this.recall = make('recall');
    if (props.existingNames.openai !== undefined) this.openai = make('openai');
    this.recallWebhook = make('recallWebhook');
  }
}
