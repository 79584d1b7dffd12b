// install.sh as the gateway serves it: deploy/install.sh with the hub URL, the version and the
// service and uninstall templates written in. The templates are placed in quoted here-documents,
// so nothing in them is expanded when the script runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtollError } from '../../certs/atoll-error.js';

export interface InstallScriptInput {
  deployDir: string;
  hubUrl: string;
  version: string;
}

const TEMPLATE_FILES: Record<string, string> = {
  '@@ATOLL_SYSTEMD_UNIT@@': 'atoll-agent.service',
  '@@ATOLL_OPENRC_SCRIPT@@': 'atoll-agent.openrc',
  '@@ATOLL_UNINSTALL_SCRIPT@@': 'uninstall.sh',
  '@@ATOLL_SUPERVISE_SCRIPT@@': 'atoll-agent-supervise.sh',
};

/** Only URLs that are safe inside a single-quoted shell string and a sed replacement. */
export const HUB_URL_RE = /^https:\/\/[A-Za-z0-9.:[\]-]+$/;
const VERSION_RE = /^[0-9A-Za-z.+-]+$/;

export function renderInstallScript(input: InstallScriptInput): string {
  const hubUrl = input.hubUrl.replace(/\/+$/, '');
  if (!HUB_URL_RE.test(hubUrl))
    throw new AtollError(
      'INSTALL_SCRIPT_INPUT',
      `hub URL "${input.hubUrl}" cannot be written into install.sh (want https://HOST[:PORT])`,
    );
  if (!VERSION_RE.test(input.version))
    throw new AtollError('INSTALL_SCRIPT_INPUT', `version "${input.version}" cannot be written into install.sh`);
  let script = readFileSync(join(input.deployDir, 'install.sh'), 'utf8');
  for (const [marker, file] of Object.entries(TEMPLATE_FILES)) {
    const body = readFileSync(join(input.deployDir, file), 'utf8').replace(/\n+$/, '');
    if (body.split('\n').includes('ATOLL_TEMPLATE_END'))
      throw new AtollError('INSTALL_TEMPLATE_INVALID', `${file} must not contain the line ATOLL_TEMPLATE_END`);
    const line = `${marker}\n`;
    if (!script.includes(line))
      throw new AtollError('INSTALL_TEMPLATE_INVALID', `deploy/install.sh lacks the ${marker} line`);
    script = script.replace(line, () => `${body}\n`);
  }
  return script
    .replace("ATOLL_SCRIPT_HUB_URL='@@ATOLL_HUB_URL@@'", () => `ATOLL_SCRIPT_HUB_URL='${hubUrl}'`)
    .replace("ATOLL_SCRIPT_VERSION='@@ATOLL_VERSION@@'", () => `ATOLL_SCRIPT_VERSION='${input.version}'`);
}
