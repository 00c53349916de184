import { Type } from '../schema-builder.js';
import { StringEnum } from '../types.js';

export const logSection = Type.Object(
  {
    level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      default: 'info',
      live: true,
      description: 'Log level (pino). Changes apply at run time.',
    }),
  },
  { additionalProperties: false, default: {} },
);
