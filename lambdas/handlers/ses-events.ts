/**
 * The SES events Lambda: the target of the EventBridge rule on SES's events (one event per invocation). Bad events are
 * counted and dropped (never thrown, so they are not retried forever); storage faults throw and are retried.
 */
import { handleSesEvents, type SesEventDeps, type SesEventSummary } from '../core/sending/ses-events.ts';

export function createSesEventsHandler(deps: SesEventDeps): (event: unknown) => Promise<SesEventSummary> {
  return (event) => handleSesEvents(deps, event);
}
