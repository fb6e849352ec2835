/** The renderer as the send Lambda uses it: render once, keep what the workers and the archive need. */
import { renderIssue, toStoredIssue, type RenderOptions } from '../issue/render.ts';
import type { RenderForSend } from './send-campaign.ts';

/** `bases` (from the send request) override the issue's front matter, as `newsletter render --asset-base-url` does. */
export function renderForSend(options: RenderOptions): RenderForSend {
  return async (markdown, bases = {}) => {
    const rendered = await renderIssue(markdown, { ...options, ...bases });
    return { issue: toStoredIssue(rendered), warnings: rendered.warnings };
  };
}
