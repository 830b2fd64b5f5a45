export { libvirtHypervisor, type LibvirtHypervisorOptions } from './libvirt-hypervisor.js';
export { libvirtErrorCode, type LibvirtAction, type LibvirtErrorCode } from './libvirt-error-code.js';
export { virshRunner, VirshError, virshCallMsMax, type VirshRunner } from './virsh.js';
export { domainName, domainUuid, parseDomainXml, ordoMetadataNamespace, type DomainInfo, type DiskInfo, type OrdoMetadata } from './domain-xml.js';
export { LibvirtConnection } from './libvirt-connection.js';
