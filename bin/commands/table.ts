/**
 * The table the CLI works on: the running local stack's (found through DATA_DIR/stack.json, exit 3 with how to
 * start it otherwise) or, with --aws, the deployed one (default SDK credentials; --table, else the TableName stack
 * output or TABLE_NAME: see aws-outputs.ts).
 * Only the DynamoDB client is loaded: the CLI needs neither SES nor Secrets Manager for these commands.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCampaignRepository } from '../../lambdas/adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../../lambdas/adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { localDynamoClient } from '../../lambdas/local/emulators.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../../lambdas/runtime/client-options.ts';
import type { StackInfo } from '../../lambdas/local/stack-info.ts';
import { readStackOutputs } from './aws-outputs.ts';
import { CliError, localStackOrExit } from './common.ts';

export interface TableOptions {
  aws?: boolean;
  table?: string;
}

export interface TableTarget {
  subscribers: DynamoDbSubscriberRepository;
  campaigns: DynamoDbCampaignRepository;
  tableName: string;
  /** The local stack, when not --aws. */
  local?: StackInfo;
  close(): void;
}

/** Open the local stack's table or, with --aws, the deployed one. */
export async function openTable(opts: TableOptions, env: Record<string, string | undefined> = process.env): Promise<TableTarget> {
  let dynamo: DynamoDBClient;
  let tableName: string;
  let local: StackInfo | undefined;
  if (opts.aws) {
    const outputs = await readStackOutputs(env);
    const table = opts.table ?? outputs.tableName;
    if (!table) {
      throw new CliError(
        '--aws needs the table name: pass --table NAME or set TABLE_NAME, or deploy with `npx cdk deploy --all --outputs-file cdk-outputs.json`',
      );
    }
    // A table found through the stack outputs lives in their region (read from an ARN there); a --table name, or
    // outputs that name no region, use the SDK's default chain (AWS_REGION, the profile).
    dynamo = new DynamoDBClient(!opts.table && outputs.region ? { region: outputs.region } : {});
    // Resolve the region now: without one, the first call fails mid-command (after an export's header, say).
    try {
      await dynamo.config.region();
    } catch {
      dynamo.destroy();
      throw new CliError('--aws needs an AWS region: set AWS_REGION (or a region in your AWS profile)');
    }
    tableName = table;
  } else {
    local = await localStackOrExit(env);
    dynamo = localDynamoClient(local.dynamoEndpoint);
    tableName = opts.table ?? local.tableName;
  }
  const doc = DynamoDBDocumentClient.from(dynamo, DOCUMENT_CLIENT_OPTIONS);
  return {
    subscribers: new DynamoDbSubscriberRepository(doc, tableName),
    campaigns: new DynamoDbCampaignRepository(doc, tableName),
    tableName,
    ...(local ? { local } : {}),
    close: () => dynamo.destroy(),
  };
}
