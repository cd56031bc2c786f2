/**
 * Reading what Godot prints. Godot 3 and 4 print errors as `ERROR:` or `SCRIPT ERROR:` lines
 * followed by a location line (`At: res://main.gd:4.` in Godot 3, `at: GDScript::reload
 * (res://main.gd:4)` in Godot 4), and exit 0 on many of them.
 */

/**
 * Lines that are errors in every run but not about the project: no sound card, the C locale,
 * Godot 3.2 probing optional keys of export_presets.cfg, and Godot 3.2 making its user data
 * folder in a fresh home (it tries the deepest folder first, logs the failure, then makes the parents).
 */
const HARMLESS = [
  /^ERROR: make_dir_recursive: Method failed\. Returning: err(\n\s+At: core\/os\/dir_access\.cpp:\d+\.)?$/,
  /audio_driver|AudioDriver|ALSA|PulseAudio|audio drivers? failed/i,
  /(get_language_code|set_locale): (Invalid|Unsupported) locale/,
  /get_value: Couldn't find the given section "preset\.\d+(\.options)?" and key "[^"]+", and no default was given/,
];

const ERROR_LINE = /^\s*(?:SCRIPT ERROR|USER ERROR|ERROR|Parse Error|FATAL)\b:?/i;

export function isHarmless(message: string): boolean {
  return HARMLESS.some((h) => h.test(message));
}

export function isErrorLine(line: string): boolean {
  return ERROR_LINE.test(line) && !/^\s*ERROR\s*$/.test(line);
}

/** The error messages in a Godot log, each with its continuation lines; harmless ones excluded. */
export function logErrors(log: string): string[] {
  const lines = log.split(/\r?\n/);
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isErrorLine(lines[i])) continue;
    const message = [lines[i].trim()];
    for (let j = i + 1; j < lines.length && j <= i + 6; j++) {
      const next = lines[j];
      if (next.trim() === '' || /^\s*(?:SCRIPT ERROR|USER ERROR|ERROR|WARNING|Parse Error)\b/.test(next)) break;
      message.push(next.trim());
      i = j;
      if (/^\s*At: /i.test(next)) break;
    }
    const text = message.join('\n    ');
    if (!isHarmless(text)) errors.push(text);
  }
  return errors;
}

export interface ErrorLocation {
  /** Path under res://, without the prefix; a compiled `.gdc` is named by its source `.gd`. */
  path: string;
  line: number;
}

/** The first project location an error message names (`res://path:line`). */
export function errorLocation(message: string): ErrorLocation | undefined {
  const m = /res:\/\/([^\n:()'"]+?):(\d+)/.exec(message);
  return m ? { path: m[1].replace(/\.gdc$/, '.gd'), line: Number(m[2]) } : undefined;
}

/** An error message without its location line and engine prefixes, e.g. `Parse Error: Expected ...`. */
export function errorText(message: string): string {
  const first = message.split('\n')[0].trim();
  return first
    .replace(/^(?:SCRIPT ERROR|USER ERROR|ERROR):\s*/i, '')
    .replace(/^(?:GDScript::reload|\w+):\s+/, '')
    .replace(/^res:\/\/[^\s:]+:\d+ - /, '');
}
