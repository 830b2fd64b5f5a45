import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'file/index': 'src/log-stores/file/index.ts',
    'postgres/index': 'src/log-stores/postgres/index.ts',
    'etcd/index': 'src/log-stores/etcd/index.ts',
    'hypervisor/index': 'src/infrastructure/hypervisor/index.ts',
    'storage/index': 'src/infrastructure/storage/index.ts',
    'opentelemetry/index': 'src/observability/opentelemetry/index.ts',
    'libvirt/index': 'src/infrastructure/libvirt/index.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['pg', 'etcd3', '@ordo/core', '@opentelemetry/api'],
});
