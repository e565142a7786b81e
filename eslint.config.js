// @ts-check
// The rules of CONTRIBUTING.md that a machine can hold: type-checked lint, the direction of
// imports between the parts of src/, and the environment read by composition roots only.
import tseslint from 'typescript-eslint';

const PROCESSES = ['add-service', 'cdc-relay', 'sum-service', 'cli', 'load', 'migrate', 'dev-stack'];

/** A no-restricted-imports pattern forbidding src/<part>/ (by relative path) for each part named. */
const forbid = (parts, why) => ({
  regex: `^(\\.\\./)+(${parts.join('|')})/`,
  message: why,
});

/** Files of src/<part>/ may not import the other processes. */
const processBoundary = (part) => ({
  files: [`src/${part}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          forbid(
            PROCESSES.filter((p) => p !== part),
            `src/${part} is its own process: import src/shared or src/sum-view, never another process (CONTRIBUTING.md). The CLI talks to the services over the wire and runs other tools as child processes.`,
          ),
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', '.sumstream/', 'load/k6/', 'src/sum-service/statusPage/*.js', 'eslint.config.js'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // An async method that does not await still answers a promise, as its interface asks.
      '@typescript-eslint/require-await': 'off',
      // A callback declared before the handle it clears is assigned reads it later, never before.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  ...PROCESSES.map(processBoundary),
  {
    files: ['src/shared/**/*.ts', 'src/sum-view/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            forbid(
              PROCESSES,
              'src/shared and src/sum-view are building blocks of the processes: they never import a process (CONTRIBUTING.md).',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            forbid([...PROCESSES, 'sum-view'], 'src/shared never imports a process or src/sum-view (CONTRIBUTING.md).'),
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/dev-stack/*', '!**/src/dev-stack/index.js'],
              message: 'Tests, benchmarks and scripts reach the dev stack through src/dev-stack/index.js only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Only composition roots read the environment; everything else takes typed options.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: ['**/main.ts', '**/*Main.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message:
            'Only a composition root (main.ts) reads process.env; take the value as a typed option instead (CONTRIBUTING.md).',
        },
      ],
    },
  },
  {
    // Vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
