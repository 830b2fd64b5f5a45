import { expect, it } from 'vitest';
import * as adapters from '@ordo/adapters';
import { fileLog } from '@ordo/adapters/file';

it('exports the embedded default log store from the package root as well', () => {
  expect(adapters.fileLog).toBe(fileLog);
});
