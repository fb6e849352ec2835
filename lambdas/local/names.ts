/**
 * Names the local stack and the CLI share, apart from lambdas/local/sending.ts, which loads the whole send pipeline
 * (~0.75 s) the CLI does not need to invoke it. Imports nothing.
 */

/** The local stack's name for the send function (its Lambda Invoke API serves this one only). */
export const SEND_FUNCTION_NAME = 'send';
