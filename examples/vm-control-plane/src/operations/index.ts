import { hostAdd } from './host-add.js';
import { hostEnterMaintenance } from './host-enter-maintenance.js';
import { hostExitMaintenance } from './host-exit-maintenance.js';
import { storageContainerCreate } from './storage-container-create.js';
import { subnetCreate } from './subnet-create.js';
import { vmAttachDisk } from './vm-attach-disk.js';
import { vmCreate } from './vm-create.js';
import { vmDelete } from './vm-delete.js';
import { vmDetachDisk } from './vm-detach-disk.js';
import { vmMigrate } from './vm-migrate.js';
import { vmPowerOff } from './vm-power-off.js';
import { vmPowerOn } from './vm-power-on.js';
import { volumeCreate } from './volume-create.js';
import { volumeDelete } from './volume-delete.js';
import { volumeResize } from './volume-resize.js';

export {
  hostAdd,
  hostEnterMaintenance,
  hostExitMaintenance,
  storageContainerCreate,
  subnetCreate,
  vmAttachDisk,
  vmCreate,
  vmDelete,
  vmDetachDisk,
  vmMigrate,
  vmPowerOff,
  vmPowerOn,
  volumeCreate,
  volumeDelete,
  volumeResize,
};
