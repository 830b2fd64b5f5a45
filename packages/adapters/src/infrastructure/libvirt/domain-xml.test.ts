import { describe, expect, it } from 'vitest';
import { diskTarget, domainUuid, domainXml, parseDomainXml } from './domain-xml.js';

describe('domain XML', () => {
  it('round-trips name, memory, vCPUs, disks and Ordo metadata, escaping what XML needs', () => {
    const xml = domainXml({
      name: 'ordo-vm1',
      uuid: domainUuid('vm1'),
      title: 'web <1> & "2"',
      memoryMiB: 48,
      vcpus: 2,
      disks: [
        { volumeId: 'a', path: "/data/c'1/a.qcow2", format: 'qcow2' },
        { volumeId: 'b', path: '/data/c2/b.raw', format: 'raw' },
      ],
      nics: [{ mac: '52:54:00:00:00:01' }],
      metadata: { entityId: 'vm1', entityVersion: 3, position: 17, epoch: 2 },
    });
    const info = parseDomainXml(xml);
    expect(info).toMatchObject({ name: 'ordo-vm1', uuid: domainUuid('vm1'), running: false, memoryMiB: 48, vcpus: 2, metadata: { entityId: 'vm1', entityVersion: 3, position: 17, epoch: 2 } });
    expect(info.disks).toEqual([
      { path: "/data/c'1/a.qcow2", target: 'sda' },
      { path: '/data/c2/b.raw', target: 'sdb' },
    ]);
  });

  it('a running domain has an id; metadata of another namespace is not Ordo\'s', () => {
    const xml = `<domain type='qemu' id='7'><name>x</name><uuid>u</uuid><metadata><ordo:vm xmlns:ordo="https://example.com/other" entity="vm1" version="1" position="2"/></metadata><memory unit='KiB'>32768</memory><vcpu placement='static'>1</vcpu></domain>`;
    expect(parseDomainXml(xml)).toMatchObject({ running: true, memoryMiB: 32, metadata: undefined });
  });

  it('UUIDs are stable per entity, version 5, distinct between entities; targets count like drive letters', () => {
    expect(domainUuid('vm1')).toBe(domainUuid('vm1'));
    expect(domainUuid('vm1')).not.toBe(domainUuid('vm2'));
    expect(domainUuid('vm1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([0, 1, 25, 26, 27].map(diskTarget)).toEqual(['sda', 'sdb', 'sdz', 'sdaa', 'sdab']);
  });
});
