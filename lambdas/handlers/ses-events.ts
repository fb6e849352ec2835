/**
 * The SES events Lambda: subscribed to the configuration set's SNS topic or EventBridge rule. Bad events are
 * counted and dropped (never thrown, so they are not retried forever); storage faults throw and are retried.
 */
import { handleSesEvents, type SesEventDeps, type SesEventSummary } from '../core/sending/ses-events.ts';

export function createSesEventsHandler(deps: SesEventDeps): (event: unknown) => Promise<SesEventSummary> {
  return (event) => handleSesEvents(deps, event);
}
