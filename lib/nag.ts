/**
 * cdk-nag (v3) acknowledgements, always narrow: a rule id on the construct that needs it, and
 * for IAM wildcards one finding at a time (`AwsSolutions-IAM5[Resource::…]`), computed from the
 * grant itself so the acknowledgement covers exactly that statement and nothing else.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { Grant, PolicyDocument } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** Acknowledge one cdk-nag rule (or one finding of it) on `scope` and everything under it. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * cdk-nag's way of printing a CloudFormation reference in a finding id
 * (cdk-nag/lib/utils/flatten-cfn-reference, not exported by the package).
 */
export function flattenCfnReference(reference: unknown): string {
  if (reference === undefined) return '';
  if (typeof reference === 'string') return reference.replace(/\${/g, '<').replace(/}/g, '>');
  const node = reference as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenCfnReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenCfnReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenCfnReference(node.Ref)}>`;
  return JSON.stringify(reference);
}

/**
 * Acknowledge the AwsSolutions-IAM5 findings that one grant's statements raise (wildcard
 * actions or resources), each by its exact finding id, with `reason`.
 */
export function acknowledgeGrantWildcards(scope: IConstruct, grant: Grant, reason: string): void {
  acknowledgeStatementWildcards(
    scope,
    grant.principalStatements.map((statement) => statement.toStatementJson()),
    reason,
  );
}

/**
 * The same for a whole policy document (the roles of aws-cdk-lib's own singleton Lambdas,
 * whose grants Parley does not write).
 */
export function acknowledgeDocumentWildcards(
  scope: IConstruct,
  document: PolicyDocument,
  reason: string,
): void {
  const json = Stack.of(scope).resolve(document.toJSON()) as { Statement?: unknown[] } | undefined;
  acknowledgeStatementWildcards(scope, json?.Statement ?? [], reason);
}

function acknowledgeStatementWildcards(scope: IConstruct, statements: unknown[], reason: string): void {
  const stack = Stack.of(scope);
  for (const statement of statements) {
    const json = stack.resolve(statement) as { Action?: unknown; Resource?: unknown };
    const list = (value: unknown): unknown[] =>
      value === undefined ? [] : Array.isArray(value) ? value : [value];
    for (const action of list(json.Action)) {
      if (typeof action === 'string' && action.includes('*'))
        acknowledge(scope, `AwsSolutions-IAM5[Action::${action}]`, reason);
    }
    for (const resource of list(json.Resource)) {
      const flat = flattenCfnReference(resource);
      if (flat.includes('*')) acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
    }
  }
}
