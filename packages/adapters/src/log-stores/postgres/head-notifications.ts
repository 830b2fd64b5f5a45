import type { HeadAnnouncements } from '../head-watcher.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * A log's heads as PostgreSQL announces them: a dedicated connection LISTENs on the log's
 * channel. Appends NOTIFY the new head in the same statement that inserts (at most one per few
 * milliseconds per process, see head-announcer.ts), so a notification arrives only once the
 * records are committed.
 */
export function headNotifications(pool: PostgresPool, channel: string): HeadAnnouncements {
  return {
    listen: async (onHead, onLost) => {
      const client = await pool.connect();
      let dropped = false;
      // Destroy rather than return it: a pooled connection must not stay subscribed to LISTEN.
      const drop = (error: Error | true): void => {
        if (dropped) return;
        dropped = true;
        client.release(error);
      };
      const lost = (error: Error): void => {
        if (dropped) return;
        drop(error);
        onLost();
      };
      client.on('notification', (notification) => {
        if (notification.channel === channel) onHead(Number(notification.payload));
      });
      client.on('error', lost);
      client.on('end', () => lost(new Error('LISTEN connection ended')));
      try {
        await client.query({ text: `LISTEN "${channel}"` });
      } catch (error) {
        drop(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      return () => drop(true);
    },
  };
}
