/** The placeholder a template holds where the release version goes. */
export const VERSION_TOKEN = '{{version}}';

/** `content` with every version token replaced by `version` (the same buffer when it holds none). */
export function renderVersion(content: Buffer, version: string): Buffer {
  const token = Buffer.from(VERSION_TOKEN);
  if (!content.includes(token)) return content;
  return Buffer.from(content.toString('utf8').split(VERSION_TOKEN).join(version), 'utf8');
}
