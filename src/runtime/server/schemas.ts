import ValidatorSelector from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';

type Validate = ((data: unknown) => unknown) & { errors?: unknown };

/**
 * fastify's own compilers (ajv and fast-json-stringify, with the server's options and shared
 * schemas), each route schema compiled at its first request instead of at start-up: a route nobody
 * calls costs neither the generated code nor the start-up time.
 */
export function lazyCompilers() {
  const validators = ValidatorSelector();
  const serializers = SerializerSelector();
  return {
    buildValidator(external: unknown, options: unknown) {
      const compile = validators(external as never, options as never);
      return (def: Parameters<typeof compile>[0]) => {
        let fn: Validate | undefined;
        const lazy: Validate = (data) => {
          fn ??= compile(def) as unknown as Validate;
          const result = fn(data);
          lazy.errors = fn.errors;
          return result;
        };
        return lazy as unknown as ReturnType<typeof compile>;
      };
    },
    buildSerializer(external: unknown, options: unknown) {
      const compile = serializers(external, options as never);
      return (def: Parameters<typeof compile>[0]) => {
        let fn: ((doc: unknown) => string) | undefined;
        return (doc: unknown) => (fn ??= compile(def))(doc);
      };
    },
  };
}
