import { Type } from '../schema-builder.js';

export const dataSection = Type.Object(
  {
    dir: Type.String({ default: './data', minLength: 1, description: 'Folder for embedded data: the SQLite store, the L3 disk cache, persisted hot keys.' }),
  },
  { additionalProperties: false, default: {} },
);
