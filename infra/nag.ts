/**
 * cdk-nag v3 runs as a CDK policy-validation plugin and reads acknowledgements from CDK's own `Validations` API
 * (v2's NagSuppressions is gone). These helpers keep every acknowledgement in the same shape: a rule id, narrowed to
 * one finding where the rule reports several (`AwsSolutions-IAM5[Resource::*]`), and a written reason.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import flatten from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

// cdk-nag is CommonJS with re-exported names that Node's ESM loader cannot detect, so import it whole.
export const { AwsSolutionsChecks } = cdkNag;

export interface Acknowledgement {
  /** Rule id, e.g. `AwsSolutions-S1`, or one finding of it, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  id: string;
  /** Why the finding is acceptable here; required. */
  reason: string;
}

/** Acknowledge cdk-nag findings on a construct and its children. */
export function acknowledge(scope: IConstruct, ...acks: Acknowledgement[]): void {
  for (const ack of acks) {
    if (ack.reason.trim().length < 20) throw new Error(`cdk-nag acknowledgement ${ack.id} needs a real reason`);
    Validations.of(scope).acknowledge(ack);
  }
}

/**
 * The finding id cdk-nag's IAM5 reports for a wildcard resource, computed the way the rule computes it, so an
 * acknowledgement names exactly that resource. Only for values whose tokens resolve before synthesis (pseudo
 * parameters, literals): a cross-stack import would resolve differently at validation time.
 */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten.flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}
