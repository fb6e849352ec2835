/**
 * SES event notifications as the configuration set publishes them through SNS (one record per Lambda invocation),
 * reduced to the fields the events Lambda reads. For timing the events Lambda and counting its DynamoDB calls.
 */
const mail = (messageId: string, to: string, campaignId: string) => ({
  timestamp: new Date().toISOString(),
  source: 'news@example.com',
  messageId,
  destination: [to],
  tags: { campaign: [campaignId] },
});

export const sendEvent = (messageId: string, to: string, campaignId: string) => ({ eventType: 'Send', send: {}, mail: mail(messageId, to, campaignId) });

export const deliveryEvent = (messageId: string, to: string, campaignId: string) => ({
  eventType: 'Delivery',
  delivery: { timestamp: new Date().toISOString(), recipients: [to], processingTimeMillis: 500, smtpResponse: '250 OK' },
  mail: mail(messageId, to, campaignId),
});

/** The Lambda event SNS delivers for one published message. */
export const viaSns = (event: unknown) => ({
  Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', Sns: { Type: 'Notification', MessageId: 'sns-1', Message: JSON.stringify(event) } }],
});
