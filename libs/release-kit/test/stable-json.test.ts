import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareBytes, stableJson, writeStableJson } from '../src/support/stable-json';
import { tempDir } from './helpers';

const sign = (n: number) => Math.sign(n);
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

test('compareBytes orders as the UTF-8 bytes do, across ASCII, the BMP above the surrogates and astral characters', () => {
  const alphabet = [
    'a',
    'B',
    'z',
    '~',
    '\u00e9',
    '\u4e2d',
    '\ud7ff',
    '\ue000',
    '\uffee',
    '\u{1f680}',
    '\u{10000}',
    '\u{e0001}',
    '.',
    '/',
    '-',
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const word = () => Array.from({ length: 1 + Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const a = word();
    const b = random() < 0.2 ? a + word() : word();
    assert.is(sign(compareBytes(a, b)), sign(utf8Order(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  assert.ok(compareBytes('\uffee', '\u{1f680}') < 0, 'U+FFEE sorts before U+1F680 in UTF-8, though not in UTF-16');
  assert.ok(compareBytes('Z', 'a') < 0);
  assert.is(compareBytes('same', 'same'), 0);
});

test('stableJson sorts keys bytewise at every level, drops undefined and ends with a newline', () => {
  assert.is(
    stableJson({ 9: 'nine', 10: 'ten' }),
    '{\n  "10": "ten",\n  "9": "nine"\n}\n',
    'integer-like keys too, which JavaScript objects keep in numeric order',
  );
  assert.is(
    stableJson({ b: [{ 9: 'nine', 10: 'ten', x: 1 }], a: 0 }),
    '{\n  "a": 0,\n  "b": [\n    {\n      "10": "ten",\n      "9": "nine",\n      "x": 1\n    }\n  ]\n}\n',
    'nested in an array',
  );
  assert.is(
    stableJson({ a: { d: 1, c: 2 }, b: [{ x: 1 }, { y: 1, x: 2 }], c: [undefined] }),
    '{\n  "a": {\n    "c": 2,\n    "d": 1\n  },\n' +
      '  "b": [\n    {\n      "x": 1\n    },\n    {\n      "x": 2,\n      "y": 1\n    }\n  ],\n' +
      '  "c": [\n    null\n  ]\n}\n',
    'objects and arrays already in order, holding some that are not',
  );
  assert.is(
    stableJson({ b: 1, a: { d: [{ z: 1, y: undefined, x: 2 }], c: 'é' } }),
    '{\n  "a": {\n    "c": "é",\n    "d": [\n      {\n        "x": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
  );
});

/** The reference: sort keys into a copy, then let JSON.stringify indent it (right only without integer-like keys). */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(utf8Order)) sorted[key] = sortedCopy((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

function randomValue(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 5 : 7));
  if (pick === 0) return Math.floor(random() * 1e9) - 5e8;
  if (pick === 1) return ['', 'a"b\\c', 'line\nbreak', '\u00e9\u{1f680}', 'x'.repeat(Math.floor(random() * 40))][Math.floor(random() * 5)];
  if (pick === 2) return random() < 0.5;
  if (pick === 3) return null;
  if (pick === 4) return random() / 3;
  if (pick === 5) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  const keys = ['b', 'a', 'Z', '\u00e9', '\u{1f680}', 'a b', 'x10', 'x9', 'undef'];
  return Object.fromEntries(keys.filter(() => random() < 0.5).map((k) => [k, k === 'undef' ? undefined : randomValue(random, depth + 1)]));
}

test('stableJson writes what JSON.stringify(value, null, 2) writes for the key-sorted value, on 2,000 random values', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) {
    const value = randomValue(random, 0);
    assert.is(stableJson(value), JSON.stringify(sortedCopy(value), null, 2) + '\n');
  }
});

test('writeStableJson writes the same bytes as stableJson, also past its write piece', () => {
  const files = Array.from({ length: 5000 }, (_, i) => ({
    path: `docs/page-${i}.md`,
    sha256: 'ab'.repeat(32),
    made: [i * 10, 10],
    note: i % 7 ? undefined : 'seventh \u00e9',
  }));
  const value = { format: 2, files, empty: [], nothing: {} };
  const file = join(tempDir('stable-json-'), 'fragment.json');
  writeStableJson(file, value);
  const written = readFileSync(file, 'utf8');
  assert.ok(written.length > 1 << 16, 'the value spans several pieces');
  assert.is(written, stableJson(value));
});

test.run();
