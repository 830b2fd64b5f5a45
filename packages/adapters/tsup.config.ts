import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'file/index': 'src/file/index.ts',
    'postgres/index': 'src/postgres/index.ts',
    'hypervisor/index': 'src/hypervisor/index.ts',
    'storage/index': 'src/storage/index.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['pg', '@ordo/core'],
});
