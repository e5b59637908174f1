/**
 * Four projects: pure unit tests, workflow tests on the time-skipping server, integration tests on
 * the real dev server, and cluster tests on the production topology (the full Temporal server and
 * the store on PostgreSQL, worker processes; test/helpers/cluster.ts).
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] };
const project = (displayName) => ({
  displayName,
  testEnvironment: 'node',
  transform,
  testMatch: [`<rootDir>/test/${displayName}/**/*.test.ts`],
  // The worker bundles workflows with its own webpack; jest must not rewrite them.
  moduleFileExtensions: ['ts', 'js', 'json'],
});

module.exports = {
  projects: [project('unit'), project('workflow'), project('integration'), project('cluster')],
  // Integration tests wait for real upgrades; a hung one still ends.
  testTimeout: 240_000,
  // 2 cores: the servers and workers of the suites run one file at a time.
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
