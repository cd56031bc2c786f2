/** One `KEY=value` line of an environment template (config/<env>/.env.template). */
export const ENV_KEY_LINE = /^([A-Z][A-Z0-9_]*)=(.*)$/;

/** The keys of an environment template, in order. */
export function envTemplateKeys(text: string): string[] {
  return text.split('\n').flatMap((line) => ENV_KEY_LINE.exec(line)?.[1] ?? []);
}
