/**
 * Builds Parley's CDK app: settings from context and environment, one ParleyStack per
 * stage, and (unless `-c nag=false`) the cdk-nag AwsSolutions checks, which fail synthesis on
 * any unacknowledged finding. bin/parley.ts runs it; the tests build the same app.
 */
import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type ParleySettings, readParleyInputs, resolveParleySettings } from './parley-props';
import { ParleyStack } from './parley-stack';

export interface ParleyApp {
  readonly stack: ParleyStack;
  readonly settings: ParleySettings;
}

export function buildParleyApp(
  app: App,
  env: Record<string, string | undefined> = process.env,
  options: { nag?: boolean } = {},
): ParleyApp {
  const settings = resolveParleySettings(readParleyInputs((key) => app.node.tryGetContext(key), env));
  const stack = new ParleyStack(app, `Parley-${settings.stageName}`, {
    settings,
    // The region is fixed (load balancer access logs need it); the account is the deploying
    // credentials', so synthesis needs none and AZs resolve at deploy time (Fn::GetAZs).
    env: { region: settings.region },
  });
  Tags.of(stack).add('project', 'parley');
  Tags.of(stack).add('parley:stage', settings.stageName);

  const nagContext = app.node.tryGetContext('nag');
  const nag = options.nag ?? !(nagContext === false || nagContext === 'false');
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stack, settings };
}
