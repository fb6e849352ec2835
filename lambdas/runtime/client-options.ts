/**
 * Options of the AWS SDK clients, apart from the clients themselves, so the CLI can use them without loading
 * every client lambdas/runtime/aws-clients.ts creates (SES, Secrets Manager). Imports nothing.
 */

/** The options every DocumentClient in this project uses (AWS, local and the CLI alike). */
export const DOCUMENT_CLIENT_OPTIONS = { marshallOptions: { removeUndefinedValues: true } } as const;
