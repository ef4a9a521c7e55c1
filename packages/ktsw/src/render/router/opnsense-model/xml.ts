// A small XML reader for OPNsense's MVC model files: elements, attributes, text, comments and the
// five predefined entities; nothing else occurs in them. Pure: text in, element tree out.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const entities: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const decode = (s: string) => s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => entities[e] ?? "");

export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: "#document", attributes: {}, children: [], text: "" };
  const stack = [root];
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<\/([\w.:-]+)\s*>|<([\w.:-]+)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of text.matchAll(token)) {
    const top = stack[stack.length - 1] as XmlElement;
    const [, close, open, attrs, selfClosing, chars, stray] = m;
    if (stray) throw new Error(`XML: cannot read ${text.slice(m.index, m.index + 40)}`);
    if (close) {
      if (top.name !== close) throw new Error(`XML: </${close}> closes <${top.name}>`);
      stack.pop();
    } else if (open) {
      const attributes: Record<string, string> = {};
      for (const a of (attrs ?? "").matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        attributes[a[1] as string] = decode(a[2] ?? a[3] ?? "");
      }
      const el: XmlElement = { name: open, attributes, children: [], text: "" };
      top.children.push(el);
      if (!selfClosing) stack.push(el);
    } else if (chars !== undefined) {
      top.text += decode(chars);
    }
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]?.name}> is never closed`);
  return root;
}

export const child = (el: XmlElement, name: string) => el.children.find((c) => c.name === name);
