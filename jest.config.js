/** Jest: TypeScript through ts-jest; one worker per core. GPU cases run inside the same files
 *  when a GPU is present (see test/helpers/devices.ts). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  testTimeout: 120000,
  setupFiles: ['<rootDir>/test/helpers/setup.js'],
};
