/**
 * SES events as the EventBridge rule delivers them to the events Lambda (one event per invocation, SES's JSON in
 * `detail`), reduced to the fields the events Lambda reads. For timing the events Lambda and counting its DynamoDB
 * calls, in the benchmark and in the cost-model test.
 */
import { ROUTED_SES_EVENT_TYPES } from '../infra/settings.ts';

const mail = (messageId: string, to: string, campaignId: string) => ({
  timestamp: new Date().toISOString(),
  source: 'news@example.com',
  messageId,
  destination: [to],
  tags: { campaign: [campaignId], 'ses:configuration-set': ['newsletter'] },
});

export const sendEvent = (messageId: string, to: string, campaignId: string) => ({ eventType: 'Send', send: {}, mail: mail(messageId, to, campaignId) });

export const deliveryEvent = (messageId: string, to: string, campaignId: string) => ({
  eventType: 'Delivery',
  delivery: { timestamp: new Date().toISOString(), recipients: [to], processingTimeMillis: 500, smtpResponse: '250 OK' },
  mail: mail(messageId, to, campaignId),
});

const DETAIL_TYPES: Record<string, string> = { Send: 'Email Sent', Delivery: 'Email Delivered' };

/** The Lambda event EventBridge delivers for one SES event on the default bus. */
export const viaEventBridge = (event: { eventType: string }) => ({
  version: '0',
  id: `eb-${event.eventType}`,
  'detail-type': DETAIL_TYPES[event.eventType] ?? `Email ${event.eventType}`,
  source: 'aws.ses',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [],
  detail: event,
});

/**
 * The invocations every successfully sent email causes: its per-email events (Send, Delivery) that the rule routes
 * (ROUTED_SES_EVENT_TYPES), each wrapped as EventBridge delivers it. Bounces and complaints are rare, not per email.
 */
export function routedEventsPerEmail(messageId: string, to: string, campaignId: string): unknown[] {
  const routed = new Set<string>(ROUTED_SES_EVENT_TYPES);
  return [sendEvent(messageId, to, campaignId), deliveryEvent(messageId, to, campaignId)]
    .filter((e) => routed.has(e.eventType))
    .map(viaEventBridge);
}
