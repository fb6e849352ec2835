/**
 * The send Lambda (operator-triggered, invoked directly): validates the event and runs one send request.
 * Input {@link SendInput} (or `{campaignId, resume: true}`), output {@link SendResult}. Bad input is a result
 * (`status: 'invalid'`), never an exception.
 */
import { runSend, type ResumeInput, type SendDeps, type SendInput, type SendResult } from '../core/sending/send-campaign.ts';

/** The part of the Lambda context we use: the time left, to stop the fan-out before the hard timeout. */
export interface InvokeContext {
  getRemainingTimeInMillis?: () => number;
}

export function createSendHandler(deps: SendDeps): (event: unknown, context?: InvokeContext) => Promise<SendResult> {
  return async (event, context) => {
    const remaining = context?.getRemainingTimeInMillis;
    return runSend(remaining ? { ...deps, remainingMs: () => remaining.call(context) } : deps, event as SendInput | ResumeInput);
  };
}
