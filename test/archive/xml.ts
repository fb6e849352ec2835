/**
 * A small strict XML parser for the tests: enough of XML 1.0 to check that a generated document (the Atom feed)
 * is well-formed and to walk its elements. Throws on anything a conforming parser would reject in such a document:
 * unbalanced or mismatched tags, unquoted or duplicate attributes, a raw `<` or a bare `&` in text, unknown
 * entities, characters XML forbids, text or a second element outside the root.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text content of this element only (entities decoded). */
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const FORBIDDEN_CHAR = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  if (raw.includes('<')) throw new Error(`raw "<" in ${where}`);
  return raw.replace(/&([^;\s]*);?/g, (m, ref: string) => {
    if (!m.endsWith(';')) throw new Error(`bare "&" in ${where}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const num = /^#(?:x([0-9a-fA-F]+)|(\d+))$/.exec(ref);
    if (!num) throw new Error(`unknown entity &${ref}; in ${where}`);
    const cp = num[1] ? parseInt(num[1], 16) : Number(num[2]);
    const ch = String.fromCodePoint(cp);
    if (FORBIDDEN_CHAR.test(ch)) throw new Error(`reference to a forbidden character in ${where}`);
    return ch;
  });
}

export function parseXml(xml: string): XmlElement {
  if (FORBIDDEN_CHAR.test(xml)) throw new Error('document contains a character XML 1.0 forbids');
  let i = 0;
  const decl = /^<\?xml\s+version="1\.[0-9]"(\s+encoding="[A-Za-z][\w.-]*")?(\s+standalone="(yes|no)")?\s*\?>/.exec(xml);
  if (decl) i = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length) stack.at(-1)!.text += decode(text, `<${stack.at(-1)!.name}>`);
    else if (text.trim()) throw new Error(`text outside the root element: ${text.trim().slice(0, 40)}`);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0 || xml.slice(i + 4, end).includes('--')) throw new Error('bad comment');
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(i));
      if (!m) throw new Error(`bad end tag at ${i}`);
      const open = stack.pop();
      if (!open || open.name !== m[1]) throw new Error(`</${m[1]}> does not close <${open?.name ?? '(nothing)'}>`);
      i += m[0].length;
      continue;
    }
    const name = NAME.exec(xml.slice(i + 1))?.[0];
    if (!name) throw new Error(`bad tag at ${i}: ${xml.slice(i, i + 20)}`);
    i += 1 + name.length;
    const el: XmlElement = { name, attributes: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i))![0];
      i += ws.length;
      if (xml.startsWith('/>', i) || xml.startsWith('>', i)) break;
      if (!ws) throw new Error(`missing space before an attribute of <${name}>`);
      const a = /^([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(xml.slice(i));
      if (!a) throw new Error(`bad attribute in <${name}>: ${xml.slice(i, i + 30)}`);
      if (a[1]! in el.attributes) throw new Error(`duplicate attribute ${a[1]} in <${name}>`);
      el.attributes[a[1]!] = decode(a[2] ?? a[3] ?? '', `attribute ${a[1]}`);
      i += a[0].length;
    }
    if (stack.length) stack.at(-1)!.children.push(el);
    else if (root) throw new Error('a second root element');
    else root = el;
    if (xml.startsWith('/>', i)) i += 2;
    else {
      i += 1;
      stack.push(el);
    }
  }
  if (stack.length) throw new Error(`<${stack.at(-1)!.name}> is not closed`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Direct children named `name`. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The one direct child named `name`; throws when there is none or several. */
export function child(el: XmlElement, name: string): XmlElement {
  const found = children(el, name);
  if (found.length !== 1) throw new Error(`<${el.name}> has ${found.length} <${name}> children, expected 1`);
  return found[0]!;
}
