// Puts the agent gateway and the API on their addresses (a refusal names the flag that changes it,
// see listen-check.ts) and says where the API is for admin commands on this host.
import type { FastifyInstance } from 'fastify';
import type { HubConfig } from './config.js';
import { hubListeners, listenRefusal } from './listen-check.js';

/** Listens (gateway first); on a failure both are closed again. Returns the API URL and the gateway's port. */
export async function listenHub(
  config: Pick<HubConfig, 'apiListen' | 'gatewayListen'>,
  api: FastifyInstance,
  gateway: FastifyInstance,
): Promise<{ apiUrl: string; gatewayPort: number }> {
  const [apiListener, gatewayListener] = hubListeners(config);
  try {
    await gateway.listen({ host: config.gatewayListen.host, port: config.gatewayListen.port }).catch((err: unknown) => {
      throw listenRefusal(gatewayListener, err) ?? err;
    });
    await api.listen({ host: config.apiListen.host, port: config.apiListen.port }).catch((err: unknown) => {
      throw listenRefusal(apiListener, err) ?? err;
    });
  } catch (err) {
    await gateway.close();
    await api.close();
    throw err;
  }
  const apiPort = (api.server.address() as { port: number }).port;
  const gatewayPort = (gateway.server.address() as { port: number }).port;
  const apiHost =
    config.apiListen.host === '0.0.0.0' || config.apiListen.host === '::' ? '127.0.0.1' : config.apiListen.host;
  return { apiUrl: `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}`, gatewayPort };
}
