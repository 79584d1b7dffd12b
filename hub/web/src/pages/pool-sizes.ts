// The pools page's size bounds and autoscale settings: a summary for the table and editor fields.
import { el, field } from '../dom.js';

export interface PoolAutoscale {
  enabled: boolean;
  scaleDownUtilizationThreshold: number;
  scaleDownUnneeded: string;
  scaleDownDelayAfterAdd: string;
  maxNodeProvisionTime: string;
}

export interface PoolSized {
  minSize: number;
  maxSize: number;
  autoscale: PoolAutoscale;
}

export function sizeSummary(p: PoolSized): string {
  const a = p.autoscale;
  return `${p.minSize}..${p.maxSize} · autoscale ${a.enabled ? 'on' : 'off'}${a.enabled ? ` (scale down under ${a.scaleDownUtilizationThreshold} for ${a.scaleDownUnneeded})` : ''}`;
}

const numberInput = (id: string, value: number, step = '1'): HTMLInputElement =>
  el('input', { id, type: 'number', min: '0', step, value: String(value), size: '5' }) as HTMLInputElement;
const textInput = (id: string, value: string): HTMLInputElement =>
  el('input', { id, value, size: '5' }) as HTMLInputElement;

/** The editor row for sizes and autoscale, and the PATCH body fields it gives. */
export function sizeEditor(p: PoolSized): { row: HTMLElement; body(): Record<string, unknown> } {
  const a = p.autoscale;
  const enabled = el('input', { id: 'edit-autoscale-enabled', type: 'checkbox' }) as HTMLInputElement;
  enabled.checked = a.enabled;
  const f = {
    min: numberInput('edit-min-size', p.minSize),
    max: numberInput('edit-max-size', p.maxSize),
    threshold: numberInput('edit-scale-down-threshold', a.scaleDownUtilizationThreshold, '0.05'),
    unneeded: textInput('edit-scale-down-unneeded', a.scaleDownUnneeded),
    delay: textInput('edit-scale-down-delay', a.scaleDownDelayAfterAdd),
    provision: textInput('edit-max-provision', a.maxNodeProvisionTime),
  };
  const row = el(
    'div',
    { class: 'row' },
    field('Min size', f.min),
    field('Max size', f.max),
    field('Autoscale on', enabled),
    field('Scale down under', f.threshold),
    field('Unneeded for', f.unneeded),
    field('Delay after add', f.delay),
    field('Provision within', f.provision),
  );
  return {
    row,
    body: () => ({
      minSize: Number(f.min.value),
      maxSize: Number(f.max.value),
      autoscale: {
        enabled: enabled.checked,
        scaleDownUtilizationThreshold: Number(f.threshold.value),
        scaleDownUnneeded: f.unneeded.value.trim(),
        scaleDownDelayAfterAdd: f.delay.value.trim(),
        maxNodeProvisionTime: f.provision.value.trim(),
      },
    }),
  };
}
