/**
 * A checkpoint's `config.json`: the config's keys and values as they are in {@link PrimerConfig},
 * read with the checks an untrusted file needs.
 */

import { formatValue, scanJson } from '@primer-ez/input-checks';
import { ConfigError, type PrimerConfig, resolveConfig } from './config.js';

/** The longest `config.json` read (a real one is under 1 KB). */
export const MAX_CONFIG_CHARS = 1_000_000;

/** The `config.json` text of a config: every key, in a stable order, pretty-printed. */
export function configToJson(config: PrimerConfig): string {
  return `${JSON.stringify(resolveConfig(config), null, 2)}\n`;
}

/**
 * Parses and validates a `config.json` text, throwing a {@link ConfigError} that names the
 * problem: not JSON, not an object, a key given twice (JSON.parse would keep the last one
 * silently), and everything {@link resolveConfig} checks (unknown keys, types, ranges).
 */
export function configFromJson(text: string): PrimerConfig {
  if (text.length > MAX_CONFIG_CHARS) {
    throw new ConfigError(
      `config.json is ${text.length} characters, more than the ${MAX_CONFIG_CHARS} read; a config is under 1 KB (is it the right file?).`,
    );
  }
  // A config nests 1 deep; refusing deeper text before JSON.parse bounds what parsing costs.
  const scan = scanJson(text, 4);
  if (scan.tooDeep) {
    throw new ConfigError('config.json nests objects or arrays; a config is one flat object.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config.json is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      `config.json must hold one JSON object of the model's sizes, got ${formatValue(parsed, 100)}.`,
    );
  }
  if (scan.duplicate !== undefined && scan.duplicate.path.length === 0) {
    throw new ConfigError(
      `config.json has the key '${scan.duplicate.key.slice(0, 100)}' twice; keep one (JSON readers silently use the last).`,
    );
  }
  return resolveConfig(parsed as PrimerConfig);
}
