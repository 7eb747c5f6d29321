// logs/job_progress_overview.<YYYYMMDD>.txt: a progress line every few seconds, a new file each day,
// as ParallelRunStep writes it.

import type { Progress } from '../../common/events';
import { LogFile, type RunPaths } from '../logTree';
import { overviewLine } from './reports';

const EVERY_MS = 5000;

export class OverviewFile {
  private current: { stamp: string; file: LogFile } | null = null;
  private last = 0;

  constructor(private readonly paths: RunPaths) {}

  /** Writes a line when one is due (always when final, which also closes the file). */
  write(progress: () => Progress, now: number, final = false): void {
    if (!final && now - this.last < EVERY_MS) return;
    this.last = now;
    const d = new Date(now);
    const stamp = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
    if (this.current?.stamp !== stamp) {
      void this.current?.file.close();
      this.current = { stamp, file: new LogFile(this.paths.progressOverview(stamp)) };
    }
    this.current.file.write(overviewLine(progress(), now, final));
    if (final) void this.current.file.close();
  }
}
