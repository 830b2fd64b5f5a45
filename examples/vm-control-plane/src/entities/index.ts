import { Host } from './host.js';
import { StorageContainer } from './storage-container.js';
import { Subnet } from './subnet.js';
import { Volume } from './volume.js';
import { Vm } from './vm.js';

export { Host, StorageContainer, Subnet, Volume, Vm };
export { vmDisksMax, vmLabelsMax, vmNicsMax } from './vm.js';

/** Every entity type of the control plane, for `openStore`. */
export const entityTypes = [Host, StorageContainer, Volume, Subnet, Vm] as const;
