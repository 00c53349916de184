import { Type } from '../schema-builder.js';

export const serverSection = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', description: 'Address to bind. Any non-loopback address requires CODE_API_TOKEN.' }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'TCP port (0 picks a free one).' }),
    bodyLimit: Type.Integer({ default: 1048576, minimum: 1024, maximum: 104857600, description: 'Largest accepted request body, in bytes.' }),
    shutdownTimeoutMs: Type.Integer({ default: 10000, minimum: 0, maximum: 600000, description: 'On SIGTERM/SIGINT, how long in-flight requests may finish before connections are cut.' }),
    requestTimeoutMs: Type.Integer({ default: 60000, minimum: 1000, maximum: 3600000, description: 'Longest a single request may take before the server answers 408/closes it.' }),
  },
  { additionalProperties: false, default: {} },
);
