/** The renderer as the send Lambda uses it: render once, keep what the workers and the archive need. */
import { renderIssue, toStoredIssue, type RenderOptions } from '../issue/render.ts';
import type { RenderForSend } from './send-campaign.ts';

export function renderForSend(options: RenderOptions): RenderForSend {
  return async (markdown) => {
    const rendered = await renderIssue(markdown, options);
    return { issue: toStoredIssue(rendered), warnings: rendered.warnings };
  };
}
