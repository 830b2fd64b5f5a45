// `pnpm demo`: a VM control plane on Ordo. ORDO_DEMO_HYPERVISOR chooses its hosts:
// 'simulated' (the default, runs anywhere) or 'libvirt' (the local libvirtd, real QEMU
// processes and qcow2 images; needs root and scripts/libvirt-up.sh).
const hypervisor = process.env.ORDO_DEMO_HYPERVISOR ?? 'simulated';
if (hypervisor === 'libvirt') await import('./demo/libvirt-demo.js');
else if (hypervisor === 'simulated') await import('./demo/simulated-demo.js');
else throw new Error(`ORDO_DEMO_HYPERVISOR=${hypervisor}: expected 'simulated' or 'libvirt'`);
export {};
