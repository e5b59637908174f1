// ESLint 9 flat config: typescript-eslint's type-checked rules over every tsconfig (root and ui/), Temporal's
// workflow restrictions on workflows/, import cycles, and eslint-config-prettier last so lint never fights Prettier.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Workflow code runs in Temporal's deterministic sandbox: no Node module there (Temporal's samples allow `assert`). */
const nodeBuiltins = builtinModules.filter((m) => m !== 'assert').flatMap((m) => [m, `node:${m}`]);

/**
 * The domain/ modules a workflow may import only for types: those whose value imports reach a package other than
 * Temporal's workflow-safe ones (zod, pino, prom-client, a Node module). Found from the sources, so a domain module
 * that starts importing zod is caught where a workflow imports it.
 */
function domainModulesOutsideTheWorkflowBundle() {
  const domainDir = join(import.meta.dirname, 'domain');
  const typeOnly = (clause) =>
    /^\{[^}]*\}$/.test(clause) &&
    clause
      .slice(1, -1)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .every((s) => s.startsWith('type '));
  const valueImports = (source) =>
    [...source.matchAll(/^(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+'([^']+)'/gm)]
      .filter(([, clause]) => !typeOnly(clause.trim()))
      .map(([, , from]) => from);
  const imports = new Map(
    readdirSync(domainDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [f.slice(0, -3), valueImports(readFileSync(join(domainDir, f), 'utf8'))]),
  );
  const workflowSafe = (from) => from.startsWith('./') || ['@temporalio/common', '@temporalio/workflow'].includes(from);
  const outside = new Set([...imports].filter(([, from]) => !from.every(workflowSafe)).map(([name]) => name));
  const reachesOutside = (from) => from.some((f) => f.startsWith('./') && outside.has(f.slice(2)));
  let before;
  do {
    before = outside.size;
    for (const [name, from] of imports) if (reachesOutside(from)) outside.add(name);
  } while (outside.size > before);
  return [...outside].sort();
}

const workflowImports = {
  paths: [
    ...nodeBuiltins.map((name) => ({
      name,
      message: 'Node modules do not run in the deterministic workflow sandbox: call an activity.',
    })),
    {
      name: 'zod',
      allowTypeImports: true,
      message:
        'zod stays out of the workflow bundle (it cost a third more memory per cached workflow): import types only.',
    },
    ...['pino', 'prom-client'].map((name) => ({
      name,
      allowTypeImports: true,
      message: `${name} needs Node and does I/O: log with log from @temporalio/workflow; count in activities.`,
    })),
    ...['@temporalio/client', '@temporalio/worker', '@temporalio/activity'].map((name) => ({
      name,
      allowTypeImports: true,
      message: 'Workflow code uses @temporalio/workflow only; this package does not run in the workflow sandbox.',
    })),
  ],
  patterns: [
    {
      regex: '^(\\.\\./)+(activities|store|api|client|worker|simulator)/',
      allowTypeImports: true,
      message: 'Workflows reach activities through proxyActivities and never load I/O code: import types only.',
    },
    {
      regex: `^(\\.\\./)+domain/(${domainModulesOutsideTheWorkflowBundle().join('|')})$`,
      allowTypeImports: true,
      message:
        'This domain module loads zod (or another non-workflow package) into the workflow bundle: import types only.',
    },
  ],
};

/** Date methods whose answer depends on the worker's time zone or locale, which may differ between workers. */
const localTimeMethods = [
  ...['getFullYear', 'getMonth', 'getDate', 'getDay', 'getHours', 'getMinutes', 'getTimezoneOffset'],
  ...['setFullYear', 'setMonth', 'setDate', 'setHours', 'setMinutes'],
  ...['toDateString', 'toTimeString', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString'],
];

export default defineConfig(
  // Dotfiles are local editor and helper files (ESLint 8 skipped them too).
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', 'test-results/', 'test/fixtures/', '**/.*'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      // What Temporal's samples insist on: a forgotten await on an activity, a timer or a handle is a silent bug.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-deprecated': 'error',
      'import-x/no-cycle': 'error',
      // `_name` marks a value left out on purpose (a destructured field dropped, an unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Fastify plugins and interface implementations (fakes, activities) are async without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // `Promise.reject(err)` hands a caught error on unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON answers as `any` on purpose: each one is checked against the OpenAPI document or a schema.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', workflowImports],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use uuid4() from @temporalio/workflow, or decide in an activity.',
        },
        ...localTimeMethods.map((property) => ({
          property,
          message:
            "Depends on the worker's time zone or locale: use the UTC methods, or compute local times in an activity.",
        })),
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setInterval', message: 'Use sleep() or condition() from @temporalio/workflow in a loop.' },
        { name: 'clearInterval', message: 'Use sleep() or condition() from @temporalio/workflow in a loop.' },
        { name: 'process', message: 'Workflow code has no process: pass configuration in the workflow input.' },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts', 'api/**/*.ts', 'client/**/*.ts', 'store/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  {
    // Kysely's expression builder is meant to be destructured in a callback (`({ exists, selectFrom }) => …`).
    files: ['store/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
