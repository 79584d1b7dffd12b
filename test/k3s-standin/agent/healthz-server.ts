// The kubelet's healthz endpoint (http://127.0.0.1:10248/healthz → "ok").
import { createServer, type Server } from 'node:http';

export function startHealthz(bind: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('ok');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('404 page not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
