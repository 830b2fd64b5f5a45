import type { HeadAnnouncements } from '../head-watcher.js';
import type { EtcdConnection } from './etcd-connection.js';
import { positionOfValue } from './stored-head.js';

/**
 * A log's heads as etcd announces them: a watch on the head key. etcd3's resume after a broken
 * stream can skip events, a watch served by a member cut off from the others stalls without a
 * word, and compaction ends a watch whose revision was compacted: the head watcher's reads after
 * each restart and its poll make up for all of them.
 */
export function headKeyWatch(connection: EtcdConnection, headKey: Buffer): HeadAnnouncements {
  return {
    listen: async (onHead, onLost) => {
      // A broken watch reports 'error' and then 'end': tell the watcher once, and not after it stopped us.
      let over = false;
      const cancel = await connection.watch(
        headKey,
        (value) => {
          if (!over) onHead(positionOfValue(value));
        },
        () => {
          if (over) return;
          over = true;
          onLost();
        },
      );
      return () => {
        over = true;
        void cancel().catch(() => undefined);
      };
    },
  };
}
