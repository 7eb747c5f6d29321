// Newline-delimited text arriving in chunks, as whole lines. A worker's result message can be
// megabytes (a mini-batch's output rows) and arrives in 64 KB chunks: joining the unfinished line to
// every chunk and splitting the lot again rescanned it from its start each time, which made reading
// one message quadratic in its size (half a second of the leader's CPU per 100 MB of output, issue
// 15). Here each chunk is scanned once and an unfinished line is joined once, when it ends. Both
// directions of the worker channel read with it.

/** Returns the function to feed chunks to; `onLine` gets each complete, non-empty line. */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let unfinished: string[] = [];
  return (chunk) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      let line = chunk.slice(start, nl);
      if (unfinished.length > 0) {
        unfinished.push(line);
        line = unfinished.join('');
        unfinished = [];
      }
      if (line) onLine(line);
      start = nl + 1;
    }
    if (start < chunk.length) unfinished.push(chunk.slice(start));
  };
}
