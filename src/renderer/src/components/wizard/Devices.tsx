// This machine's CPUs and GPUs, so "auto" means something to the user.

import { formatBytes } from '../../../../common/format';
import { useHostQuery } from '../useHostQuery';

export function Devices() {
  const d = useHostQuery('devices', {}).result;
  if (!d) return null;
  return (
    <p className="facts" data-testid="devices">
      This machine: {d.cpus} CPU(s) ({d.cpuModel}), {formatBytes(d.memTotalBytes)} memory,{' '}
      {d.gpus.length === 0 ? 'no GPU' : d.gpus.map((g) => `GPU ${g.index}: ${g.name}`).join(', ')}. "auto"
      runs{' '}
      {d.gpus.length > 0
        ? `${d.gpus.length} process(es), one per GPU`
        : `${d.cpus} process(es), one per core`}
      .
    </p>
  );
}
