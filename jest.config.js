/**
 * Two projects: unit specs beside the code, end-to-end specs in test/ against real Postgres
 * (a database created for the run) and Redis. @nestjs 12 is ESM-only: @swc/jest compiles it
 * (and the few other ESM dependencies; @fastify/cookie loads its ESM `cookie` with import()) to
 * CommonJS for the test runtime (see STACK.md).
 */
const esm = ['@nestjs', 'file-type', 'strtok3', 'token-types', '@tokenizer', 'uint8array-extras', 'nodemailer', 'uuid', '@scure', '@noble', '@otplib', 'otplib', '@fastify/cookie', 'cookie', '@fastify/static', 'content-disposition', 'openid-client', 'oauth4webapi', 'jose', 'oauth2-mock-server', 'is-plain-obj'];
const transform = {
  // .mjs too: oauth2-mock-server ships only ESM .mjs files.
  '^.+\\.(t|m?j)sx?$': [
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
  ],
};
const shared = {
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${esm.join('|')})/)`],
  moduleNameMapper: {
    '^@app/common(|/.*)$': '<rootDir>/libs/common/src$1',
    '^@app/database(|/.*)$': '<rootDir>/libs/database/src$1',
  },
  testEnvironment: 'node',
};

module.exports = {
  // Global (Jest ignores it inside a project): e2e tests wait for mail and real services.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
