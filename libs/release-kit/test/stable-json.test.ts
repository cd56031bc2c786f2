import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareBytes, stableJson } from '../src/stable-json';

const sign = (n: number) => Math.sign(n);
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

test('compareBytes orders as the UTF-8 bytes do, across ASCII, the BMP above the surrogates and astral characters', () => {
  const alphabet = ['a', 'B', 'z', '~', '\u00e9', '\u4e2d', '\ud7ff', '\ue000', '\uffee', '\u{1f680}', '\u{10000}', '\u{e0001}', '.', '/', '-'];
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
  assert.is(stableJson({ b: 1, a: { d: [{ z: 1, y: undefined, x: 2 }], c: 'é' } }), '{\n  "a": {\n    "c": "é",\n    "d": [\n      {\n        "x": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
});

test.run();
