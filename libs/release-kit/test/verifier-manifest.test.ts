import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stableJsonBytes } from '../src/support/stable-json';
import { parseManifest } from '../src/verifier/manifest-shape';

const FINGERPRINT = 'AAE0DFE30696C0D150A00C6A068B3EBDBFF67ECD';
const SHA = 'a'.repeat(64);

function manifest(): any {
  return {
    name: 'spacetime-vr',
    version: '1.2.3',
    build_date: '2026-01-01T00:00:00Z',
    git_commit: 'abc',
    git_branch: 'main',
    git_dirty: false,
    build_user: 'ci',
    configuration: 'development',
    signing: { mode: 'development', fingerprint: FINGERPRINT, development: true },
    sections: [{ name: 'alpha', files: 1, bytes: 3, metadata: {} }],
    files: [{ path: 'alpha/readme.md', size: 3, sha256: SHA, mode: '0644' }],
    tools: { node: 'v20' },
    skipped: [],
  };
}

function failures(data: Buffer | string): { lines: string[]; parsed: boolean } {
  const lines: string[] = [];
  const parsed = parseManifest(Buffer.from(data), (line) => lines.push(line)) !== undefined;
  return { lines, parsed };
}

test('the canonical manifest passes', () => {
  assert.equal(failures(stableJsonBytes(manifest())), { lines: [], parsed: true });
});

const shapes: Array<[string, (m: any) => unknown, RegExp]> = [
  ['files: [null]', (m) => void (m.files = [null]), /^MANIFEST\.json: files\[0\] is null, not an object$/],
  ['sections a string', (m) => void (m.sections = 'docs'), /^MANIFEST\.json: sections is the string "docs", not a list$/],
  [
    'a duplicate file',
    (m) => void m.files.push({ ...m.files[0] }),
    /^MANIFEST\.json: files\[1\]\.path "alpha\/readme\.md" is listed twice$/,
  ],
  [
    'a duplicate section',
    (m) => void m.sections.push({ ...m.sections[0] }),
    /^MANIFEST\.json: sections\[1\]\.name "alpha" is listed twice$/,
  ],
  ['a size string', (m) => void (m.files[0].size = '3'), /^MANIFEST\.json: files\[0\]\.size is the string "3", not a byte count$/],
  ['an unsafe path', (m) => void (m.files[0].path = '/etc/passwd'), /^MANIFEST\.json: files\[0\]\.path is the string "\/etc\/passwd"/],
  ['an unknown configuration', (m) => void (m.configuration = 'qa'), /^MANIFEST\.json: configuration is the string "qa"/],
  [
    'inconsistent signing',
    (m) => void (m.signing.development = false),
    /^MANIFEST\.json: signing\.development is false, but signing\.mode is "development"$/,
  ],
  ['a list', (m) => [m], /^MANIFEST\.json: \(top level\) is a list, not an object$/],
  ['a number', () => 42, /^MANIFEST\.json: \(top level\) is number 42, not an object$/],
];

for (const [name, edit, expected] of shapes) {
  test(`${name}: a failure naming the field, no manifest`, () => {
    const m = manifest();
    const replaced = edit(m);
    const { lines, parsed } = failures(stableJsonBytes(replaced === undefined ? m : replaced));
    assert.is(parsed, false);
    assert.ok(
      lines.some((line) => expected.test(line)),
      lines.join('\n'),
    );
  });
}

test('bytes that are not the canonical form fail: duplicate keys, another indentation, no trailing newline', () => {
  const text = stableJsonBytes(manifest()).toString();
  for (const data of [
    text.replace('  "configuration": "development",\n', '  "configuration": "production",\n  "configuration": "development",\n'),
    `${JSON.stringify(manifest())}\n`,
    text.trimEnd(),
  ]) {
    const { lines, parsed } = failures(data);
    assert.is(parsed, false);
    assert.equal(lines, [
      'MANIFEST.json: is not in the canonical form the assembler writes (sorted keys, each once, two-space indent, a trailing newline)',
    ]);
  }
});

test('hostile sizes and depths end in failure lines, never an exception', () => {
  const many = manifest();
  many.files = new Array(50000).fill(null);
  const { lines } = failures(stableJsonBytes(many));
  assert.is(lines.length, 21, 'twenty listed, the rest counted');
  assert.is(lines[20], 'MANIFEST.json: 49980 more problems of its shape');
  const deep = stableJsonBytes(manifest())
    .toString()
    .replace('"metadata": {}', `"metadata": {"deep": ${'['.repeat(50000)}${']'.repeat(50000)}}`);
  assert.is(failures(deep).parsed, false);
  assert.match(failures('{"name": ').lines[0], /^MANIFEST\.json: not valid JSON/);
});

test.run();
