/**
 * AWS SDK clients, created once per Lambda container (module scope, memoized) so warm invocations reuse them.
 * Each is created only when a function first asks for it, so esbuild can leave unused SDKs out of a bundle
 * when a handler never imports their factory.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let ddb: DynamoDBClient | undefined;

export function dynamoClient(): DynamoDBClient {
  ddb ??= new DynamoDBClient({});
  return ddb;
}
