// The pools page (#/pools): each pool's labels, taints and autoheal settings, and the upgrade
// settings (the cluster's auto-upgrade policy, which applies to every pool). Edit forms only for
// tokens whose role may change them (PATCH /v1/pools/:pool, PUT /v1/cluster/auto-upgrade).
import { api, mayCall } from '../api.js';
import { el, field, s, table, toast, type Obj } from '../dom.js';
import { sizeEditor, sizeSummary, type PoolSized } from './pool-sizes.js';

interface Autoheal {
  enabled: boolean;
  paused: boolean;
  afterRestart: string;
  afterReboot: string;
  afterReplace: string;
  maxUnhealthyPercent: number;
  hook: string | null;
}
interface Pool extends PoolSized {
  name: string;
  description: string;
  labels: Record<string, string>;
  taints: string[];
  autoheal: Autoheal;
}
interface RolloutSettings {
  maxUnavailable?: number;
  dwell?: string;
  verifyTimeout?: string;
  drainTimeout?: string;
}
interface Policy {
  enabled: boolean;
  scope: string;
  window: { day: string; startHour: number; durationHours: number; timeZone: string };
  windowOpen: boolean;
  rollout?: RolloutSettings;
}

const DAYS = ['any', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function autohealSummary(a: Autoheal): string {
  return `${a.enabled ? 'on' : 'off'}${a.paused ? ', paused' : ''} · restart ${a.afterRestart}, reboot ${a.afterReboot}, replace ${a.afterReplace} · cap ${a.maxUnhealthyPercent}% · ${a.hook ? `hook ${a.hook}` : 'no hook'}`;
}

const input = (id: string, value: string, size = '8'): HTMLInputElement =>
  el('input', { id, value, size }) as HTMLInputElement;
const checkbox = (id: string, checked: boolean): HTMLInputElement => {
  const c = el('input', { id, type: 'checkbox' }) as HTMLInputElement;
  c.checked = checked;
  return c;
};

function poolEditor(p: Pool, done: () => void): HTMLElement {
  const a = p.autoheal;
  const f = {
    description: input('edit-description', p.description, '24'),
    enabled: checkbox('edit-autoheal-enabled', a.enabled),
    paused: checkbox('edit-autoheal-paused', a.paused),
    afterRestart: input('edit-after-restart', a.afterRestart, '5'),
    afterReboot: input('edit-after-reboot', a.afterReboot, '5'),
    afterReplace: input('edit-after-replace', a.afterReplace, '5'),
    cap: el('input', {
      id: 'edit-cap',
      type: 'number',
      min: '0',
      max: '100',
      value: String(a.maxUnhealthyPercent),
      size: '4',
    }) as HTMLInputElement,
    hook: input('edit-hook', a.hook ?? '', '24'),
  };
  const sizes = sizeEditor(p);
  const error = el('p', { class: 'error', id: 'pool-edit-error' });
  const save = async (): Promise<void> => {
    error.textContent = '';
    try {
      await api('PATCH', `/v1/pools/${encodeURIComponent(p.name)}`, {
        description: f.description.value,
        ...sizes.body(),
        autoheal: {
          enabled: f.enabled.checked,
          paused: f.paused.checked,
          afterRestart: f.afterRestart.value.trim(),
          afterReboot: f.afterReboot.value.trim(),
          afterReplace: f.afterReplace.value.trim(),
          maxUnhealthyPercent: Number(f.cap.value),
          hook: f.hook.value.trim() || null,
        },
      });
      toast(`pool ${p.name} saved`);
      done();
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };
  return el(
    'div',
    { class: 'card editor', id: 'pool-editor', 'data-pool': p.name },
    el('h3', {}, `Edit pool ${p.name}`),
    el('div', { class: 'row' }, field('Description', f.description)),
    el(
      'div',
      { class: 'row' },
      field('Autoheal on', f.enabled),
      field('Paused', f.paused),
      field('Restart k3s after', f.afterRestart),
      field('Reboot after', f.afterReboot),
      field('Replace after', f.afterReplace),
      field('Max unhealthy %', f.cap),
      field('Provider hook', f.hook),
    ),
    sizes.row,
    el(
      'div',
      { class: 'row' },
      el('button', { class: 'primary', id: 'save-pool', click: () => void save() }, 'Save'),
      el('button', { click: done }, 'Cancel'),
    ),
    error,
  );
}

function policyCard(p: Policy, editable: boolean, reload: () => void): HTMLElement {
  const w = p.window;
  const summary = el(
    'p',
    { id: 'auto-upgrade' },
    `Auto-upgrade ${p.enabled ? 'on' : 'off'} (${p.scope} releases) · window ${w.day} ${String(w.startHour).padStart(2, '0')}:00 for ${w.durationHours} h (${w.timeZone}) · ${p.windowOpen ? 'open now' : 'closed now'}`,
  );
  const ro = p.rollout ?? {};
  const rolloutLine = el(
    'p',
    { id: 'auto-rollout' },
    `Automatic rollouts: ${ro.maxUnavailable ?? 1} node(s) at a time, healthy for ${ro.dwell ?? '2m'}, verify within ${ro.verifyTimeout ?? '10m'}, drain within ${ro.drainTimeout ?? '30m'}`,
  );
  const box = el(
    'section',
    { class: 'card', id: 'upgrade-settings' },
    el('h2', {}, 'Upgrade settings (all pools)'),
    summary,
    rolloutLine,
    el(
      'p',
      { class: 'muted' },
      'Rollouts started from the Upgrades page with "next window" wait for this window; a rollout can target one pool.',
    ),
  );
  if (!editable) return box;
  const enabled = checkbox('policy-enabled', p.enabled);
  const scope = el(
    'select',
    { id: 'policy-scope' },
    ...['patch', 'minor'].map((x) => el('option', x === p.scope ? { value: x, selected: '' } : { value: x }, x)),
  ) as HTMLSelectElement;
  const day = el(
    'select',
    { id: 'policy-day' },
    ...DAYS.map((d) => el('option', d === w.day ? { value: d, selected: '' } : { value: d }, d)),
  ) as HTMLSelectElement;
  const hour = el('input', {
    id: 'policy-hour',
    type: 'number',
    min: '0',
    max: '23',
    value: String(w.startHour),
    size: '3',
  }) as HTMLInputElement;
  const hours = el('input', {
    id: 'policy-duration',
    type: 'number',
    min: '1',
    max: '168',
    value: String(w.durationHours),
    size: '3',
  }) as HTMLInputElement;
  const tz = input('policy-tz', w.timeZone, '14');
  const maxUnavailable = el('input', {
    id: 'policy-max-unavailable',
    type: 'number',
    min: '1',
    value: String(ro.maxUnavailable ?? 1),
    size: '3',
  }) as HTMLInputElement;
  const dwell = input('policy-dwell', ro.dwell ?? '', '5');
  dwell.placeholder = '2m';
  const drain = input('policy-drain-timeout', ro.drainTimeout ?? '', '5');
  drain.placeholder = '30m';
  const error = el('p', { class: 'error' });
  const save = async (): Promise<void> => {
    try {
      const rollout = {
        maxUnavailable: Number(maxUnavailable.value) || 1,
        ...(dwell.value.trim() ? { dwell: dwell.value.trim() } : {}),
        ...(drain.value.trim() ? { drainTimeout: drain.value.trim() } : {}),
      };
      await api('PUT', '/v1/cluster/auto-upgrade', {
        enabled: enabled.checked,
        scope: scope.value,
        window: {
          day: day.value,
          startHour: Number(hour.value),
          durationHours: Number(hours.value),
          timeZone: tz.value.trim(),
        },
        rollout,
      });
      toast('upgrade settings saved');
      reload();
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };
  box.append(
    el(
      'div',
      { class: 'row' },
      field('Auto-upgrade', enabled),
      field('Scope', scope),
      field('Day', day),
      field('Start hour', hour),
      field('Hours', hours),
      field('Time zone', tz),
      field('At a time', maxUnavailable),
      field('Healthy for', dwell),
      field('Drain timeout', drain),
      el('button', { id: 'save-policy', click: () => void save() }, 'Save'),
    ),
    error,
  );
  return box;
}

export async function poolsPage(main: HTMLElement): Promise<void> {
  const holder = el('div', { id: 'pools-table' });
  const editorBox = el('div', {});
  const policyBox = el('div', {});
  main.append(el('section', { class: 'card' }, el('h2', {}, 'Pools'), holder, editorBox), policyBox);
  const canEdit = mayCall('PATCH', '/v1/pools/:pool');
  const render = async (): Promise<void> => {
    const pools = (await api<{ items: Pool[] }>('GET', '/v1/pools')).items;
    editorBox.replaceChildren();
    holder.replaceChildren(
      table(
        ['Name', 'Description', 'Labels', 'Taints', 'Size', 'Autoheal', canEdit ? '' : ''],
        pools.map((p) =>
          el(
            'tr',
            { 'data-pool': p.name },
            el('td', {}, p.name),
            el('td', {}, p.description),
            el(
              'td',
              {},
              Object.entries(p.labels)
                .map(([k, v]) => `${k}=${s(v)}`)
                .join(', '),
            ),
            el('td', {}, p.taints.join(', ')),
            el('td', { class: 'sizes' }, sizeSummary(p)),
            el('td', { class: 'autoheal' }, autohealSummary(p.autoheal)),
            el(
              'td',
              {},
              canEdit
                ? el(
                    'button',
                    {
                      'data-action': 'edit-pool',
                      click: () => editorBox.replaceChildren(poolEditor(p, () => void render())),
                    },
                    'Edit',
                  )
                : null,
            ),
          ),
        ),
      ),
    );
  };
  const renderPolicy = async (): Promise<void> => {
    const policy = await api<Policy & Obj>('GET', '/v1/cluster/auto-upgrade').catch(() => undefined);
    policyBox.replaceChildren(
      policy
        ? policyCard(policy, mayCall('PUT', '/v1/cluster/auto-upgrade'), () => void renderPolicy())
        : el('span', {}),
    );
  };
  await Promise.all([render(), renderPolicy()]);
}
