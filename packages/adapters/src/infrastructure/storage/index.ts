export { directoryStorage, type DirectoryStorageOptions } from './directory-storage.js';
export { listVolumeFiles, volumePath, containerDir, volumeFileSuffix, type VolumeFile } from './volume-files.js';
export { checkCapacity, type CapacityCheckInput } from './storage-capacity.js';
export { volumeSpecSchema, containerSpecSchema, type VolumeSpec, type ContainerSpec } from './storage-spec.js';
