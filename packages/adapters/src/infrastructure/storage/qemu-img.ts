import { execFile } from 'node:child_process';

/** How long one qemu-img call may take (create, resize and info take 5 to 15 ms). */
export const qemuImgCallMsMax = 60_000;

/** Runs `qemu-img`; rejects with its own message. */
export function qemuImg(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', [...args], { timeout: qemuImgCallMsMax, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`qemu-img ${args.join(' ')}: ${stderr.trim() || error.message}`));
    });
  });
}

/** The size the VM sees of a qcow2 image (`virtual-size`), not its size on disk. */
export async function qcow2VirtualSize(path: string): Promise<number> {
  // -U: read the header even while a running VM holds the image's lock.
  const info = JSON.parse(await qemuImg(['info', '-U', '--output=json', path])) as { 'virtual-size'?: unknown };
  const size = info['virtual-size'];
  if (typeof size !== 'number') throw new Error(`qemu-img info ${path} printed no virtual-size`);
  return size;
}

/**
 * Creates a qcow2 image of `sizeBytes`, or resizes an existing one to it (shrinking needs
 * `--shrink`: the log says the smaller size, so it is asked for). A running VM locks its
 * image: resizing then fails with qemu-img's message.
 */
export async function ensureQcow2(path: string, sizeBytes: number, exists: boolean, lockedResize: LockedImageResize = 'fail'): Promise<void> {
  if (!exists) {
    await qemuImg(['create', '-q', '-f', 'qcow2', path, String(sizeBytes)]);
    return;
  }
  const current = await qcow2VirtualSize(path);
  if (current === sizeBytes) return;
  try {
    await qemuImg(['resize', '-q', ...(sizeBytes < current ? ['--shrink'] : []), '-f', 'qcow2', path, String(sizeBytes)]);
  } catch (error) {
    // A running VM holds the image's write lock; its hypervisor adapter resizes it (virsh blockresize).
    if (lockedResize === 'hypervisor' && error instanceof Error && /Failed to get "write" lock/.test(error.message)) return;
    throw error;
  }
}

/** What a resize of a qcow2 image that a running VM holds does: fail, or leave it to the hypervisor adapter. */
export type LockedImageResize = 'fail' | 'hypervisor';
