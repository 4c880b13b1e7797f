// Unit tests of the modules that do not import @jupyterlab/* (ES modules that would need a Babel pass):
// formatting and the polling model, with the server replaced by a mock fetcher.
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
