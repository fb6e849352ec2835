/**
 * Names the local stack and the CLI share, apart from lambdas/local/sending.ts, which loads the whole send pipeline
 * (~0.75 s) the CLI does not need to invoke it. Imports nothing.
 */

/** The local stack's name for the send function (its Lambda Invoke API serves this one only). */
export const SEND_FUNCTION_NAME = 'send';

/** The send function's ARN on the local stack, as a schedule's target names it (the region is the emulators'). */
export const SEND_FUNCTION_ARN = `arn:aws:lambda:us-east-1:000000000000:function:${SEND_FUNCTION_NAME}`;

/** The local stack's EventBridge Scheduler group and the role its schedules name (never assumed locally). */
export const SCHEDULE_GROUP_NAME = 'newsletter';
export const SCHEDULE_ROLE_ARN = 'arn:aws:iam::000000000000:role/newsletter-local-scheduler';

/** Where the local stack serves its subset of the EventBridge Scheduler API (the SDK's own paths). */
export const SCHEDULES_PATH = '/schedules';
