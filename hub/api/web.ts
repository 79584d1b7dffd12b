// The web dashboard: static files built into dist/hub/web by scripts/build-web.mjs, served at `/`
// on the API listener. The page itself is public; everything it shows comes from /v1 with a token.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { textBody } from './schemas.js';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export function webDir(): string {
  // dist/hub/api/web.js -> dist/hub/web; under tsx (hub/api/web.ts) -> dist/hub/web as well.
  const here = import.meta.dirname;
  const built = join(here, '..', 'web');
  if (existsSync(join(built, 'app.js'))) return built;
  return join(here, '..', '..', 'dist', 'hub', 'web');
}

export const webRoutes: FastifyPluginAsync = async (app) => {
  const dir = webDir();
  const cache = new Map<string, Buffer>();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    app.get(
      path,
      {
        config: { public: true },
        schema: {
          hide: true,
          response: {
            200: textBody(type.split(';')[0], file),
            503: textBody('text/plain', 'the dashboard is not built'),
          },
        },
      },
      async (_req, reply) => {
        let body = cache.get(file);
        if (!body) {
          const p = join(dir, file);
          if (!existsSync(p))
            return reply.status(503).type('text/plain').send('the dashboard is not built; run npm run build\n');
          body = readFileSync(p);
          cache.set(file, body);
        }
        reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
        if (path === '/')
          reply.header(
            'content-security-policy',
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
          );
        return reply.send(body);
      },
    );
  }
};
