/** Every file under a directory, with its mtime and bytes: "untouched" means equal before and after. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function treeFingerprint(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const info = statSync(path);
      if (info.isDirectory()) walk(path);
      else out[path] = `${info.mtimeMs}:${readFileSync(path, 'base64')}`;
    }
  };
  walk(root);
  return out;
}
