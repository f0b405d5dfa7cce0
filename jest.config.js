/**
 * Three projects: `unit` (pure logic, specs next to the code, and the architecture checks
 * under test/architecture), `integration` (repositories and triggers against the real
 * PostgreSQL, built by hand without the Nest application) and `e2e` (the application against
 * the real PostgreSQL and Redis). swc compiles with decorator metadata; tsc type-checks
 * separately (`npm run typecheck`).
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  // Jest reads testTimeout only from the top level (a project's own value is ignored), so the
  // e2e tests' patience — tasks that retry, time out or wait for a schedule — is set here.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: __dirname,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/architecture/**/*.spec.ts'],
      transform: { '^.+\\.(t|j)s$': swc },
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.integration-spec.ts'],
      transform: { '^.+\\.(t|j)s$': swc },
      // The same migrated test database as e2e; both set it up, the second finds nothing to apply.
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.(t|j)s$': swc },
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
    },
  ],
};
