export { directoryStorage, type DirectoryStorageOptions } from './directory-storage.js';
export type { LockedImageResize } from './qemu-img.js';
export { listVolumeFiles, volumePath, containerDir, volumeFileSuffix, volumeFileSuffixes, type VolumeFile } from './volume-files.js';
export { checkCapacity, type CapacityCheckInput } from './storage-capacity.js';
export { volumeSpecSchema, containerSpecSchema, type VolumeSpec, type ContainerSpec, type VolumeFormat } from './storage-spec.js';
