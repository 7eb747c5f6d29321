// Azure ML v2 writes program_arguments as one string; the spec keeps a list. These convert between
// the two the way a POSIX shell would split words (quotes and backslashes, no expansion).

export type SplitResult = { ok: true; words: string[] } | { ok: false; error: string };

export function splitShellWords(text: string): SplitResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: `unterminated ' quote at character ${i + 1}` };
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return { ok: false, error: `unterminated " quote at character ${i + 1}` };
        const d = text[j];
        if (d === '"') break;
        // Inside double quotes a backslash escapes only these, as in sh.
        if (d === '\\' && j + 1 < text.length && '"\\$`\n'.includes(text[j + 1])) {
          word += text[j + 1];
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (c === '\\' && i + 1 < text.length) {
      if (text[i + 1] !== '\n') word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}

/** Quote each word only when it needs it, so common arguments stay readable. */
export function joinShellWords(words: readonly string[]): string {
  return words
    .map((w) => (/^[A-Za-z0-9_\-.,:/=@%+{}$]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
