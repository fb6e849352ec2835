/**
 * The plain-text part: title, then each section heading and its items (title, URL on its own line, notes),
 * and the footer with the unsubscribe placeholder. Wrapped nowhere: mail clients wrap text themselves.
 */
import { labelsFor } from './i18n.ts';
import type { Issue, IssueSection } from './model.ts';
import { placeholder } from './personalize.ts';

export function renderTextPart(issue: Issue, options: { postalAddress: string; senderName?: string }): string {
  const labels = labelsFor(issue.lang);
  const out: string[] = [];
  out.push(issue.title);
  const kicker = [issue.number !== undefined ? labels.issue(issue.number) : '', issue.date ?? ''].filter(Boolean).join(' · ');
  if (kicker) out.push(kicker);
  out.push(`${labels.viewInBrowser}: ${placeholder('viewInBrowserUrl')}`);
  if (issue.source) out.push(`${issue.source.label || labels.source}: ${issue.source.url}`);
  out.push('');
  section(issue.lead, out);
  for (const s of issue.sections) {
    const heading = s.number ? `${s.number}. ${s.title}` : s.title;
    out.push('', heading, '='.repeat(Math.min(40, Math.max(8, [...heading].length * 2))), '');
    section(s, out);
  }
  out.push('', '-- ', labels.whyReceiving, `${labels.unsubscribe}: ${placeholder('unsubscribeUrl')}`);
  out.push([options.senderName, options.postalAddress].filter(Boolean).join(' · '));
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

function section(s: IssueSection, out: string[]): void {
  for (const b of s.blocks) {
    if (b.kind === 'prose') {
      out.push(b.prose.text, '');
      continue;
    }
    const item = b.item;
    out.push(`▸ ${item.title}`);
    if (item.url) out.push(`  ${item.url}`);
    for (const extra of [item.subtitle, item.description]) if (extra) out.push(`  ${extra}`);
    for (const body of item.bodyText) out.push(indent(body));
    out.push('');
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}
