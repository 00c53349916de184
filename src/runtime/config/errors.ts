import { CodeError } from '../../platform/errors.js';

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_NOT_FOUND' | 'CONFIG_UNREADABLE' | 'CONFIG_VERSION_NOT_FOUND';

/** One bad key: where it came from and why it is wrong. */
export interface ConfigIssue {
  path: string;
  reason: string;
  /** `codectl.yaml:12`, `env CODE_SERVER_PORT`, `option --port`. */
  source?: string;
}

export class ConfigError extends CodeError<ConfigErrorCode> {
  static invalid(issues: ConfigIssue[]): ConfigError {
    const lines = issues.map((i) => `  ${i.source ? `${i.source}: ` : ''}${i.path}: ${i.reason}`);
    return new ConfigError('CONFIG_INVALID', `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, { issues });
  }
}
