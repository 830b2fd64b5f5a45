/**
 * @ordo/adapters: log stores and infrastructure adapters for Ordo. Each one has its own
 * subpath so that an application loads only what it uses (`pg` is needed only for
 * `@ordo/adapters/postgres`, `etcd3` only for `@ordo/adapters/etcd`):
 *
 * - `@ordo/adapters/file`: `fileLog`, the crash-safe embedded log store (also exported here);
 * - `@ordo/adapters/postgres`: `postgresLog`, one log shared by many processes and hosts;
 * - `@ordo/adapters/etcd`: `etcdLog`, one log on a replicated etcd cluster that outlives a member;
 * - `@ordo/adapters/hypervisor`: a simulated hypervisor adapter with fault injection;
 * - `@ordo/adapters/storage`: a storage adapter keeping volumes as sparse files or qcow2 images;
 * - `@ordo/adapters/libvirt`: a hypervisor adapter over libvirt and QEMU, driving `virsh`.
 */
export { fileLog, type FileLogOptions, type FileLogRecoveryEvent } from './log-stores/file/index.js';
