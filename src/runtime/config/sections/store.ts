import { Type } from '@sinclair/typebox';
import { StringEnum } from '../types.js';

export const storeSection = Type.Object(
  {
    url: Type.String({ default: '', description: 'PostgreSQL URL (postgres://…). Empty: the embedded SQLite file under data.dir. DATABASE_URL sets it too.' }),
    sqliteFile: Type.String({ default: 'code.db', minLength: 1, description: 'SQLite file name inside data.dir.' }),
    synchronous: StringEnum(['normal', 'full'], { default: 'normal', description: 'SQLite durability: normal survives a process crash (kill -9), full also survives power loss.' }),
  },
  { additionalProperties: false, default: {} },
);
