/**
 * The SES events Lambda: the target of the EventBridge rule on SES's events (one event per invocation). Bad events are
 * counted, logged and dropped (never thrown, so they are not retried forever); storage faults throw and are retried.
 * Bounces and complaints are published as metric counts once per invocation.
 */
import { handleSesEvents, type SesEventDeps, type SesEventSummary } from '../core/sending/ses-events.ts';
import type { WorkerLogger } from '../core/sending/worker.ts';
import type { Counts } from '../runtime/observability.ts';

export interface SesEventsObservability {
  log?: Pick<WorkerLogger, 'warn'>;
  counts?: Counts;
}

export function createSesEventsHandler(
  deps: SesEventDeps,
  observe: SesEventsObservability = {},
): (event: unknown) => Promise<SesEventSummary> {
  return async (event) => {
    try {
      const summary = await handleSesEvents(deps, event);
      if (summary.malformed > 0) {
        // Only the shape is logged: SES events carry addresses.
        const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
        observe.log?.warn('malformed SES event dropped', {
          malformed: summary.malformed,
          ...(typeof detailType === 'string' ? { detailType } : {}),
        });
      }
      observe.counts?.add('Bounced', summary.bounced);
      observe.counts?.add('Complained', summary.complained);
      observe.counts?.add('Dropped', summary.malformed);
      return summary;
    } finally {
      observe.counts?.flush();
    }
  };
}
