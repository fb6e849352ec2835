/** The renderer as the send Lambda uses it: render once, keep what the workers and the archive need. */
import { renderIssue, toStoredIssue, type RenderOptions } from '../issue/render.ts';
import type { RenderForSend } from './send-campaign.ts';

/**
 * `bases` (from the send request) override the issue's front matter, as `newsletter render --asset-base-url` does.
 * `authoringErrors` (render.ts) make mode `send` refuse unless forced; read defensively, so a renderer without
 * the checks simply reports none.
 */
export function renderForSend(options: RenderOptions): RenderForSend {
  return async (markdown, bases = {}) => {
    const rendered = await renderIssue(markdown, { ...options, ...bases });
    const authoringErrors = (rendered as { authoringErrors?: string[] }).authoringErrors ?? [];
    return { issue: toStoredIssue(rendered), warnings: rendered.warnings, authoringErrors };
  };
}
