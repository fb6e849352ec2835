/**
 * The few fixed strings of the email chrome, per language. Unknown languages use English.
 */
export interface Labels {
  issue: (n: number) => string;
  viewInBrowser: string;
  unsubscribe: string;
  source: string;
  inThisIssue: string;
  whyReceiving: string;
  read: string;
}

const en: Labels = {
  issue: (n) => `Issue #${n}`,
  viewInBrowser: 'View in browser',
  unsubscribe: 'Unsubscribe',
  source: 'Originally published',
  inThisIssue: 'In this issue',
  whyReceiving: 'You are receiving this email because you subscribed to this newsletter.',
  read: 'Read',
};

const zh: Labels = {
  issue: (n) => `第 ${n} 期`,
  viewInBrowser: '在浏览器中查看',
  unsubscribe: '退订',
  source: '原文',
  inThisIssue: '本期内容',
  whyReceiving: '您收到这封邮件，是因为您订阅了本通讯。',
  read: '阅读',
};

const ja: Labels = {
  issue: (n) => `第${n}号`,
  viewInBrowser: 'ブラウザで表示',
  unsubscribe: '配信停止',
  source: '元の記事',
  inThisIssue: '今号の内容',
  whyReceiving: 'このニュースレターを購読されているため、このメールをお送りしています。',
  read: '読む',
};

/** Labels for a BCP 47 tag, by primary subtag. */
export function labelsFor(lang: string): Labels {
  const primary = lang.toLowerCase().split('-')[0];
  if (primary === 'zh') return zh;
  if (primary === 'ja') return ja;
  return en;
}
