// /v1-k3s/... (pkg/server/handlers/router.go): what agents fetch while joining. Certificates for
// kubelets are issued only after the node password checks out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/log.js';
import type { ResourceService } from '../api/resource-service.js';
import { findType } from '../store/resource-types.js';
import { statusBody } from '../api/api-error.js';
import { sendJson, sendStatus, sendText } from '../api/http-io.js';
import { issueLeaf, type CertAndKey } from '../pki/cert-factory.js';
import { sharedClientCert, type ServerPki } from '../pki/server-pki.js';
import { authenticate, mayUseAgentEndpoints, type Caller, type Passwords } from './supervisor-auth.js';
import { ensureNodePassword, NodePasswordRejected } from './node-password.js';
import type { ServerConfig } from './server-config.js';
import { apiServerAddresses } from './endpoint-reconciler.js';

const NODES = findType('', 'v1', 'nodes');

export interface SupervisorDeps {
  readonly cfg: ServerConfig;
  readonly pki: ServerPki;
  readonly svc: ResourceService;
  readonly passwords: Passwords;
  readonly log: Logger;
  readonly apiServerAddress: string;
}

function sendError(res: ServerResponse, req: IncomingMessage, log: Logger, code: number, message: string): void {
  log.error(
    `Sending HTTP ${code} response to ${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}: ${message}`,
  );
  const reason =
    code === 401
      ? 'Unauthorized'
      : code === 403
        ? 'Forbidden'
        : code === 400
          ? 'BadRequest'
          : code === 503
            ? 'ServiceUnavailable'
            : 'InternalError';
  sendStatus(res, statusBody(code, reason, message));
}

function pem(c: CertAndKey, caPem: string): string {
  return `${c.certPem}${caPem}${c.keyPem}`;
}

/** Returns true when the path was a supervisor path and has been answered. */
export function supervisorHandler(
  d: SupervisorDeps,
): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  const control = (): unknown => ({
    ClusterDomain: d.cfg.clusterDomain,
    ClusterDNS: d.cfg.clusterDns,
    HTTPSPort: d.cfg.httpsPort,
    SupervisorPort: d.cfg.httpsPort,
    APIServerPort: d.cfg.httpsPort,
    FlannelBackend: d.cfg.flannelBackend,
    FlannelExternalIP: d.cfg.flannelExternalIp,
    EgressSelectorMode: d.cfg.egressSelectorMode,
    ServiceNodePortRange: d.cfg.serviceNodePortRange,
    DisableKubeProxy: d.cfg.disable.includes('kube-proxy'),
    DisableNPC: false,
    DisableCCM: false,
    SystemDefaultRegistry: '',
  });

  const nodeNamedCert = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    kind: 'serving' | 'client',
  ): void => {
    const name = String(req.headers['k3s-node-name'] ?? '').toLowerCase();
    const password = String(req.headers['k3s-node-password'] ?? '');
    if (!name) return sendError(res, req, d.log, 400, 'node name not set');
    if (!password) return sendError(res, req, d.log, 400, 'node password not set');
    if (caller.nodeIdentity !== undefined) {
      if (caller.nodeIdentity !== name)
        return sendError(res, req, d.log, 400, 'header node name does not match auth node name');
      if (NODES && !d.svc.find(NODES, undefined, name))
        return sendError(res, req, d.log, 401, `unable to verify node identity: nodes "${name}" not found`);
    }
    try {
      ensureNodePassword(d.svc, name, password);
    } catch (e) {
      if (e instanceof NodePasswordRejected) return sendError(res, req, d.log, 403, e.message);
      throw e;
    }
    const ips = String(req.headers['k3s-node-ip'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const issued =
      kind === 'serving'
        ? issueLeaf(d.pki.serverCa, {
            cn: name,
            usage: 'server',
            dnsNames: [name, 'localhost'],
            ips: [...new Set(['127.0.0.1', ...ips])],
          })
        : issueLeaf(d.pki.clientCa, { cn: `system:node:${name}`, orgs: ['system:nodes'], usage: 'client' });
    sendText(
      res,
      200,
      pem(issued, kind === 'serving' ? d.pki.serverCa.certPem : d.pki.clientCa.certPem),
      'application/octet-stream',
    );
  };

  return (req, res, path) => {
    if (!path.startsWith('/v1-k3s/')) return false;
    const sub = path.slice('/v1-k3s/'.length);
    const known = [
      'serving-kubelet.crt',
      'client-kubelet.crt',
      'client-kube-proxy.crt',
      'client-k3s-controller.crt',
      'client-ca.crt',
      'server-ca.crt',
      'apiservers',
      'config',
      'readyz',
      'connect',
    ];
    if (!known.includes(sub)) return false;
    const auth = authenticate(req, d.svc, d.passwords, new Date());
    if (!auth.ok) {
      if (auth.code === 401)
        d.log.error(
          `Failed to authenticate request from ${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}: ${auth.reason}`,
        );
      sendStatus(
        res,
        auth.code === 401
          ? statusBody(401, 'Unauthorized', 'not authorized')
          : statusBody(403, 'Forbidden', 'forbidden'),
      );
      return true;
    }
    const caller = auth.caller;
    const nodeOnly = sub === 'connect';
    if (nodeOnly ? !caller.groups.includes('system:nodes') : !mayUseAgentEndpoints(caller)) {
      sendStatus(res, statusBody(403, 'Forbidden', 'forbidden'));
      return true;
    }
    switch (sub) {
      case 'serving-kubelet.crt':
        nodeNamedCert(req, res, caller, 'serving');
        break;
      case 'client-kubelet.crt':
        nodeNamedCert(req, res, caller, 'client');
        break;
      case 'client-kube-proxy.crt':
        sendText(
          res,
          200,
          pem(
            sharedClientCert(d.pki, 'client-kube-proxy', {
              cn: 'system:kube-proxy',
              orgs: ['system:nodes'],
              usage: 'client',
            }),
            d.pki.clientCa.certPem,
          ),
          'application/octet-stream',
        );
        break;
      case 'client-k3s-controller.crt':
        sendText(
          res,
          200,
          pem(
            sharedClientCert(d.pki, 'client-k3s-controller', { cn: 'system:k3s-controller', usage: 'client' }),
            d.pki.clientCa.certPem,
          ),
          'application/octet-stream',
        );
        break;
      case 'client-ca.crt':
        sendText(res, 200, d.pki.clientCa.certPem, 'application/octet-stream');
        break;
      case 'server-ca.crt':
        sendText(res, 200, d.pki.serverCaPem, 'application/octet-stream');
        break;
      case 'apiservers':
        sendJson(res, 200, apiServerAddresses(d.svc).length ? apiServerAddresses(d.svc) : [d.apiServerAddress]);
        break;
      case 'config':
        sendJson(res, 200, control());
        break;
      case 'readyz':
        sendText(res, 200, 'ok');
        break;
      default:
        sendError(res, req, d.log, 501, 'the stand-in does not implement the agent tunnel');
    }
    return true;
  };
}
