/** Reading a file a setting names (TLS keys, NATS credentials): a file that cannot be read is a ConfigError. */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';

/**
 * The contents of the file `variable` names.
 * @throws ConfigError naming the variable, the path and the reason (ENOENT, EACCES, ...).
 */
export function readSettingFile(variable: string, path: string, kind = 'file'): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `${variable}=${JSON.stringify(path)} is not valid: expected a readable ${kind} (${code})`,
    );
  }
}
