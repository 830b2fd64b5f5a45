import { createHash, randomBytes } from 'node:crypto';
import { LogCorruptError, type Snapshot } from '@ordo/core';
import type { EtcdConnection } from './etcd-connection.js';
import type { EtcdKeys } from './etcd-keys.js';

/** Bytes of snapshot JSON per key: well below etcd's request limit (1.5 MiB by default). */
export const snapshotChunkBytes = 1024 * 1024;
// Chunks fetched per read while loading a snapshot.
const chunksPerReadMax = 8;
// Manifests listed at open: the kept ones, plus a few a crash or a race left behind.
const manifestsListedMax = 16;

interface Manifest {
  readonly position: number;
  readonly id: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Snapshots in etcd: the JSON in chunks under a key unique to this write, then a manifest
 * written last (and only if no manifest for that position exists yet), so a crash leaves either
 * no snapshot at that position or a whole one. Only the newest `kept` are kept.
 */
export class SnapshotStore {
  constructor(
    private readonly connection: EtcdConnection,
    private readonly keys: EtcdKeys,
    private readonly kept: number,
  ) {}

  /** Writes the snapshot; returns the positions of the snapshots kept, newest first. */
  async write(snapshot: Snapshot): Promise<number[]> {
    const bytes = Buffer.from(JSON.stringify(snapshot));
    const id = randomBytes(6).toString('hex');
    const chunks = this.keys.snapshotChunks(snapshot.position, id);
    const count = Math.max(1, Math.ceil(bytes.length / snapshotChunkBytes));
    for (let index = 0; index < count; index += 1) {
      const value = bytes.subarray(index * snapshotChunkBytes, (index + 1) * snapshotChunkBytes);
      await this.connection.txn({ success: [{ request_put: { key: chunks.chunk(index), value } }] });
    }
    const manifest: Manifest = { position: snapshot.position, id, chunks: count, bytes: bytes.length, sha256: sha256(bytes) };
    const key = this.keys.snapshot(snapshot.position);
    // Another process may have snapshotted the same position: both fold the same records, so
    // the first manifest stays and this write's chunks go.
    const written = await this.connection.txn({
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key, value: Buffer.from(JSON.stringify(manifest)) } }],
    });
    if (!written.succeeded) await this.connection.txn({ success: [{ request_delete_range: { key: chunks.start, range_end: chunks.end } }] });
    return this.dropOlder();
  }

  /** The newest snapshot at or below `head` whose chunks are whole, or undefined. */
  async newest(head: number): Promise<Snapshot | undefined> {
    const manifests = (await this.manifests()).filter((manifest) => manifest.position <= head);
    for (const manifest of manifests) {
      const snapshot = await this.load(manifest);
      if (snapshot !== undefined) return snapshot;
    }
    return undefined;
  }

  /** The stored snapshots (their manifests), newest first. */
  async list(): Promise<readonly { readonly position: number; readonly bytes: number }[]> {
    return (await this.manifests()).map((manifest) => ({ position: manifest.position, bytes: manifest.bytes }));
  }

  /** The snapshot at `position`, or undefined when none is stored there (or its chunks are gone). */
  async read(position: number): Promise<Snapshot | undefined> {
    const manifest = (await this.manifests()).find((entry) => entry.position === position);
    return manifest === undefined ? undefined : this.load(manifest);
  }

  /** Manifests, newest first. */
  private async manifests(): Promise<Manifest[]> {
    const result = await this.connection.range({
      key: this.keys.snapshotStart,
      range_end: this.keys.snapshotEnd,
      sort_order: 'Descend',
      sort_target: 'Key',
      limit: manifestsListedMax,
    });
    return result.kvs.map((kv) => decodeManifest(kv.key.toString(), this.keys.snapshotPositionOf(kv.key), kv.value));
  }

  /** Loads one snapshot; undefined when its chunks are gone (removed by a newer snapshot's cleanup). */
  private async load(manifest: Manifest): Promise<Snapshot | undefined> {
    const chunks = this.keys.snapshotChunks(manifest.position, manifest.id);
    const parts: Buffer[] = [];
    while (parts.length < manifest.chunks) {
      const result = await this.connection.range({ key: chunks.chunk(parts.length), range_end: chunks.end, limit: chunksPerReadMax });
      if (result.kvs.length === 0) return undefined;
      parts.push(...result.kvs.map((kv) => kv.value));
    }
    const bytes = Buffer.concat(parts.slice(0, manifest.chunks));
    const where = this.keys.snapshot(manifest.position).toString();
    if (bytes.length !== manifest.bytes || sha256(bytes) !== manifest.sha256) {
      throw new LogCorruptError({ store: 'etcd', location: where, position: manifest.position, reason: 'snapshot chunks do not match their manifest' });
    }
    return decodeSnapshot(where, manifest.position, bytes);
  }

  /** Deletes manifests (first) and chunks of all but the newest `kept` snapshots. */
  private async dropOlder(): Promise<number[]> {
    const manifests = await this.manifests();
    for (const old of manifests.slice(this.kept)) {
      const chunks = this.keys.snapshotChunks(old.position, old.id);
      await this.connection.txn({
        success: [
          { request_delete_range: { key: this.keys.snapshot(old.position) } },
          { request_delete_range: { key: chunks.start, range_end: chunks.end } },
        ],
      });
    }
    return manifests.slice(0, this.kept).map((manifest) => manifest.position);
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function decodeManifest(where: string, position: number | undefined, value: Buffer): Manifest {
  let parsed: Partial<Manifest> | null;
  try {
    parsed = JSON.parse(value.toString()) as Partial<Manifest> | null;
  } catch (error) {
    throw new LogCorruptError({ store: 'etcd', location: where, reason: `snapshot manifest is not JSON: ${String(error)}` });
  }
  if (
    parsed === null ||
    typeof parsed !== 'object' ||
    parsed.position !== position ||
    typeof parsed.id !== 'string' ||
    !Number.isSafeInteger(parsed.chunks) ||
    !Number.isSafeInteger(parsed.bytes) ||
    typeof parsed.sha256 !== 'string'
  ) {
    throw new LogCorruptError({ store: 'etcd', location: where, reason: 'snapshot manifest is malformed' });
  }
  return parsed as Manifest;
}

function decodeSnapshot(where: string, position: number, bytes: Buffer): Snapshot {
  let parsed: Partial<Snapshot> | null;
  try {
    parsed = JSON.parse(bytes.toString()) as Partial<Snapshot> | null;
  } catch (error) {
    throw new LogCorruptError({ store: 'etcd', location: where, position, reason: `snapshot is not JSON: ${String(error)}` });
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.format !== 1 || parsed.position !== position || !Array.isArray(parsed.entities) || !Array.isArray(parsed.requests)) {
    throw new LogCorruptError({ store: 'etcd', location: where, position, reason: 'stored snapshot is malformed' });
  }
  return parsed as Snapshot;
}
