import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** The console's files, served as they are: no build step, no framework. */
const consoleFiles = [
  { path: '/console', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/console/console.js', file: 'console.js', type: 'text/javascript; charset=utf-8' },
  { path: '/console/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * The page may load only its own script and style and talk only to this server; the token it
 * holds therefore cannot be sent elsewhere by an injected script, and no other site may frame it.
 */
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * `GET /console`: the web console (src/console), read once when the app is created. `GET /`
 * sends a browser there. Like every read, none of it needs the token: the page asks for it.
 */
export function registerConsoleRoutes(app: FastifyInstance): void {
  const folder = new URL('../console/', import.meta.url);
  for (const { path, file, type } of consoleFiles) {
    const body = readFileSync(new URL(file, folder));
    app.get(path, async (_request, reply) =>
      reply
        .header('content-type', type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', contentSecurityPolicy)
        .send(body),
    );
  }
  app.get('/', async (_request, reply) => reply.redirect('/console', 302));
}
