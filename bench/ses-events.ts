/**
 * SES events as the EventBridge rule delivers them to the events Lambda (one event per invocation, SES's JSON in
 * `detail`). For timing the events Lambda and counting its DynamoDB calls, in the benchmark and in the cost-model
 * test. The event shapes are the tests' fixtures, so the benchmark feeds the handler what its tests do.
 */
import { ROUTED_SES_EVENT_TYPES } from '../infra/settings.ts';
import { delivery, send, viaEventBridge } from '../test/handlers/ses-events.fixtures.ts';

/**
 * The invocations every successfully sent email causes: its per-email events (Send, Delivery) that the rule routes
 * (ROUTED_SES_EVENT_TYPES), each wrapped as EventBridge delivers it. Bounces and complaints are rare, not per email.
 */
export function routedEventsPerEmail(messageId: string, to: string, campaignId: string): unknown[] {
  const routed = new Set<string>(ROUTED_SES_EVENT_TYPES);
  return [send(messageId, [to], campaignId), delivery(messageId, [to], campaignId)]
    .filter((e) => routed.has(e.eventType))
    .map(viaEventBridge);
}
