import { join } from 'node:path';
import { ReleaseError } from './errors';
import { openApiReference } from './openapi-reference';
import { parseYamlFile } from './yaml-file';

/** A file a section makes at package time instead of copying it. */
export interface GeneratedFile {
  kind: 'version-file' | 'openapi-reference';
  /** Section-relative path of the generated file. */
  to: string;
  /** Input file relative to the project root, where the kind reads one. */
  from?: string;
}

interface GeneratorContext {
  root: string;
  version: string;
  show: (path: string) => string;
}

const GENERATORS: Record<GeneratedFile['kind'], (file: GeneratedFile, context: GeneratorContext) => string> = {
  'version-file': (_file, { version }) => `${version}\n`,
  'openapi-reference': (file, { root, version, show }) => {
    if (!file.from) throw new ReleaseError('the openapi-reference generator needs "from"', show(join(root, 'project.json')));
    const source = join(root, file.from);
    return openApiReference(parseYamlFile(source, show(source)), version, show(source));
  },
};

export function generateFile(file: GeneratedFile, context: GeneratorContext): Buffer {
  const generator = GENERATORS[file.kind];
  if (!generator) throw new ReleaseError(`unknown generated file kind "${file.kind}" (known: ${Object.keys(GENERATORS).join(', ')})`, context.show(join(context.root, 'project.json')));
  return Buffer.from(generator(file, context), 'utf8');
}
