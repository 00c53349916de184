// Lint is part of `npm test`. Rules here encode house rules (DESIGN.md), not style taste.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'data/', 'coverage/', 'src/platform/kernels/assembly/', 'src/runtime/dashboard/public/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', fetch: 'readonly', WebAssembly: 'readonly', document: 'readonly', window: 'readonly', EventSource: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The layering of DESIGN.md: platform knows nothing of capabilities or runtime; capabilities never reach into runtime.
    files: ['src/platform/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/capabilities/**', '**/runtime/**'], message: 'platform/ must not import capabilities/ or runtime/' }] }] },
  },
  {
    files: ['src/capabilities/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/runtime/**'], message: 'capabilities/ must not import runtime/' }] }] },
  },
  {
    // Every outbound HTTP call goes through src/platform/net (pools, per-origin breakers, retries,
    // metrics): elsewhere in src/ no HTTP client module and no global fetch. Type-only imports are fine.
    files: ['src/**/*.ts'],
    ignores: ['src/platform/net/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: ['undici', 'node:http', 'node:https', 'node:http2', 'http', 'https', 'http2'].map((name) => ({
          name,
          allowTypeImports: true,
          message: 'Outbound HTTP goes through src/platform/net (engine.http): pools, breakers, retries and metrics.',
        })),
      }],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Use src/platform/net (engine.http) instead of the global fetch.' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'scripts/**/*.mjs'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
