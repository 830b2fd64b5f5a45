export { hypervisorAdapter, type HypervisorAdapterOptions } from './hypervisor-adapter.js';
export { SimulatedHypervisor, HypervisorFault, type AgentAction, type PlacedDomain, type SimulatedHypervisorOptions } from './simulated-hypervisor.js';
export { HostAgent, type Domain, type DomainSpec, type DomainState } from './host-agent.js';
export { vmSpecSchema } from './vm-spec.js';
