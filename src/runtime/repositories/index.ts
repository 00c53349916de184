import type { Migration } from '../../platform/store/types.js';
import { migrations as configVersions } from './config-versions.js';
import { migrations as flags } from './flags.js';
import { migrations as alerts } from './alerts.js';
import { migrations as consultations } from './consultations.js';
import { migrations as checks } from './checks.js';
import { migrations as probes } from './probes.js';

/** Every repository's migrations, in apply order. Add a repository: import its list and append it. */
export const allMigrations: Migration[] = [
  ...configVersions,
  ...flags,
  ...alerts,
  ...consultations,
  ...checks,
  ...probes,
];
