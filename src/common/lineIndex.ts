// The output file's line index: the byte offset of every LINE_INDEX_STRIDE-th line, as unsigned
// 64-bit little-endian integers in a hidden file beside the output. The engine writes it while it
// appends rows (it knows every line's length then, at no cost), so the output browser jumps to any
// line of a file of any size at once instead of scanning it first.

export const LINE_INDEX_STRIDE = 1024;

/** `outputs/.parallel_run_step.txt.lineindex` for `outputs/parallel_run_step.txt`. */
export function lineIndexPath(outputFile: string): string {
  const slash = Math.max(outputFile.lastIndexOf('/'), outputFile.lastIndexOf('\\'));
  return `${outputFile.slice(0, slash + 1)}.${outputFile.slice(slash + 1)}.lineindex`;
}
