import type { Document, LineCounter, Node } from 'yaml';
import { yaml } from '../support/yaml-file';
import { ReleaseError } from '../support/errors';

/** A parsed YAML (or JSON) document that can say on which line a field is. */
export interface LocatedDoc {
  value: unknown;
  /** The line of the deepest node that exists along `path` (1-based). */
  lineOf(path: Array<string | number>): number | undefined;
  /** That line and how many keys of `path` exist. */
  find(path: Array<string | number>): { line?: number; depth: number };
}

export function locatedDocuments(text: string, shownAs: string): LocatedDoc[] {
  const counter = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, { lineCounter: counter, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs as unknown as Document];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error)
      throw new ReleaseError(`invalid YAML: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, {
        file: shownAs,
        line: error.linePos?.[0]?.line,
      });
  }
  return list.filter((d) => d.contents !== null).map((doc) => located(doc, counter));
}

export function locatedDocument(text: string, shownAs: string): LocatedDoc {
  const counter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: counter, prettyErrors: true });
  const error = doc.errors[0];
  if (error)
    throw new ReleaseError(`invalid syntax: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, {
      file: shownAs,
      line: error.linePos?.[0]?.line,
    });
  return located(doc, counter);
}

function located(doc: Document, counter: LineCounter): LocatedDoc {
  return {
    value: doc.toJS(),
    lineOf(path) {
      return this.find(path).line;
    },
    find(path) {
      let node: unknown = doc.contents;
      let line = lineOfNode(node, counter);
      let depth = 0;
      const { isMap, isPair, isScalar, isSeq } = yaml();
      for (const key of path) {
        let next: unknown;
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
          if (!pair) break;
          line = lineOfNode(pair.key, counter) ?? line;
          next = pair.value;
        } else if (isSeq(node) && typeof key === 'number') {
          next = node.items[key];
          if (!next) break;
          line = lineOfNode(next, counter) ?? line;
        } else break;
        node = next;
        depth++;
      }
      return { line, depth };
    },
  };
}

function lineOfNode(node: unknown, counter: LineCounter): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}
