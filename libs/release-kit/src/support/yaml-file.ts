import { readFileSync } from 'node:fs';
import type * as Yaml from 'yaml';
import { ReleaseError } from './errors';

/** The YAML library, loaded on first use: most task processes parse no YAML. */
let loaded: typeof Yaml | undefined;
export const yaml = () => (loaded ??= require('yaml') as typeof Yaml);

/** Parses one YAML document; a syntax error names the file and line. */
export function parseYamlFile(file: string, shownAs = file): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ReleaseError('the file is missing or unreadable', { file: shownAs });
  }
  return parseYamlText(text, shownAs);
}

export function parseYamlText(text: string, shownAs: string): unknown {
  const doc = yaml().parseDocument(text, { prettyErrors: true });
  throwFirstError(doc.errors, shownAs);
  return doc.toJS();
}

/** Parses a multi-document YAML stream (Kubernetes manifests). */
export function parseYamlStream(text: string, shownAs: string): unknown[] {
  const docs = yaml().parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) throwFirstError((docs as { errors: YamlError[] }).errors, shownAs);
  return (docs as Yaml.Document[]).map((d) => {
    throwFirstError(d.errors, shownAs);
    return d.toJS();
  });
}

type YamlError = { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] };

function throwFirstError(errors: YamlError[], shownAs: string): void {
  const error = errors[0];
  if (!error) return;
  const message = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  throw new ReleaseError(`invalid YAML: ${message}`, { file: shownAs, line: error.linePos?.[0]?.line });
}

/** Parses JSON; a syntax error names the file and line. */
export function parseJsonText(text: string, shownAs: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    const position = /position (\d+)/.exec(message);
    // V8 does not always say where; JSON is YAML, and the YAML parser names the line.
    const line = position
      ? text.slice(0, Number(position[1])).split('\n').length
      : yaml().parseDocument(text).errors[0]?.linePos?.[0]?.line;
    throw new ReleaseError(`invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*$/, '')}`, {
      file: shownAs,
      line,
    });
  }
}
