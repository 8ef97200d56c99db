#!/usr/bin/env node
/**
 * The CDK app (`npx cdk synth|deploy`, cdk.json runs it with tsx). Settings come from context
 * (`-c stage=prod`) or environment (`PARLEY_STAGE=prod`); docs/deploy.md lists them all.
 */
import { App } from 'aws-cdk-lib';
import { buildParleyApp } from '../lib/parley-app';
import { PARLEY_INPUTS, ParleyPropsError } from '../lib/parley-props';

const app = new App();
try {
  buildParleyApp(app, process.env);
} catch (error) {
  if (error instanceof ParleyPropsError) {
    const help = Object.entries(PARLEY_INPUTS)
      .map(([key, spec]) => `  -c ${key}=…  or  ${spec.env}=…   ${spec.help}`)
      .join('\n');
    console.error(`Parley: ${error.message}\n\nSettings:\n${help}`);
    process.exit(1);
  }
  throw error;
}
app.synth();
