import { OperationError, type EntityRef } from '@ordo/core';
import { libvirtErrorCode, type LibvirtAction } from './libvirt-error-code.js';
import { parseDomainXml, type DomainInfo } from './domain-xml.js';
import { inputFile, VirshError, type VirshRunner } from './virsh.js';

/**
 * One libvirt connection URI, spoken to through virsh. Every failure becomes an
 * `OperationError` with a specific code and libvirt's own message in `details`.
 */
export class LibvirtConnection {
  constructor(
    readonly uri: string,
    private readonly virsh: VirshRunner,
    private readonly context: { readonly adapter: string; readonly entity?: EntityRef },
  ) {}

  /** The same connection, naming another entity in its errors. */
  about(entity: EntityRef): LibvirtConnection {
    return new LibvirtConnection(this.uri, this.virsh, { adapter: this.context.adapter, entity });
  }

  /**
   * The domain as libvirt has it, or undefined when there is none: its persistent
   * definition (configuration and metadata: what the last define wrote) and, for a running
   * one, the disks it really has now.
   */
  async domain(name: string): Promise<DomainInfo | undefined> {
    const live = await this.readXml(name, []);
    if (live === undefined || !live.running) return live;
    const persistent = await this.readXml(name, ['--inactive']);
    return persistent === undefined ? undefined : { ...persistent, running: true, liveDisks: live.disks };
  }

  private async readXml(name: string, flags: readonly string[]): Promise<DomainInfo | undefined> {
    try {
      return parseDomainXml(await this.virsh(this.uri, ['dumpxml', ...flags, name]));
    } catch (error) {
      const failure = this.failure('read', error);
      if (failure.code === 'DOMAIN_NOT_FOUND') return undefined;
      throw failure;
    }
  }

  async domainNames(): Promise<string[]> {
    const output = await this.call('read', ['list', '--all', '--name']);
    return output.split('\n').map((line) => line.trim()).filter((line) => line.length > 0).sort();
  }

  /** The host's memory as libvirt sees it (`virsh nodeinfo`), in MiB. */
  async memoryMiB(): Promise<number> {
    const output = await this.call('nodeinfo', ['nodeinfo']);
    const kib = Number(/Memory size:\s*(\d+)\s*KiB/.exec(output)?.[1]);
    if (!Number.isSafeInteger(kib)) throw new Error(`virsh nodeinfo on ${this.uri} printed no memory size: ${output}`);
    return Math.floor(kib / 1024);
  }

  async define(xml: string): Promise<void> {
    await this.call('define', ['define', inputFile], xml);
  }

  async start(name: string): Promise<void> {
    await this.call('start', ['start', name]);
  }

  /** Power-off: without a guest OS `virsh shutdown` does nothing, so off means destroy. */
  async destroy(name: string): Promise<void> {
    await this.call('destroy', ['destroy', name]);
  }

  async undefine(name: string): Promise<void> {
    await this.call('undefine', ['undefine', name]);
  }

  /** Attaches a disk to the running domain only: its persistent definition is written by define. */
  async attachLive(name: string, diskXml: string): Promise<void> {
    await this.call('attach', ['attach-device', name, inputFile, '--live'], diskXml);
  }

  async detachLive(name: string, diskXml: string): Promise<void> {
    await this.call('detach', ['detach-device', name, inputFile, '--live'], diskXml);
  }

  /** Resizes a disk of the running domain (its image is locked against qemu-img while it runs). */
  async resizeLive(name: string, path: string, sizeBytes: number): Promise<void> {
    await this.call('resize', ['blockresize', name, path, `${sizeBytes}B`]);
  }

  private async call(action: LibvirtAction, args: readonly string[], stdin?: string): Promise<string> {
    try {
      return await this.virsh(this.uri, args, stdin);
    } catch (error) {
      throw this.failure(action, error);
    }
  }

  private failure(action: LibvirtAction, error: unknown): OperationError {
    const libvirtMessage = error instanceof VirshError ? error.libvirtMessage : error instanceof Error ? error.message : String(error);
    const code = libvirtErrorCode(action, libvirtMessage);
    return new OperationError({
      code,
      message: `libvirt ${this.uri}: ${action} failed: ${libvirtMessage}`,
      adapter: this.context.adapter,
      step: 'apply',
      ...(this.context.entity === undefined ? {} : { entity: this.context.entity }),
      details: { libvirtMessage, uri: this.uri, action, ...(error instanceof VirshError ? { command: error.command } : {}) },
      cause: error,
    });
  }
}
