import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FILES_MINI_BATCH_SIZE,
  DEFAULT_TABULAR_MINI_BATCH_BYTES,
  formatBytes,
  formatSizeSpec,
  parseByteSize,
  parseFileCount,
  parseMiniBatchSize,
} from '../../src/common/size';

describe('parseByteSize', () => {
  it.each([
    [1024, 1024],
    ['1024', 1024],
    ['512KB', 512 * 1024],
    ['512kb', 512 * 1024],
    ['512Kb', 512 * 1024],
    ['10MB', 10 * 1024 ** 2],
    ['10mB', 10 * 1024 ** 2],
    ['1GB', 1024 ** 3],
    ['1gb', 1024 ** 3],
    ['100 kb', 100 * 1024],
    [' 7 ', 7],
  ])('%j -> %d bytes', (value, bytes) => {
    expect(parseByteSize(value)).toBe(bytes);
  });

  it.each([0, -1, 1.5, '0', '0MB', '1.5MB', '10 apples', '1TB', 'MB', '', '1KBKB', '-5', null, true, [1]])(
    'refuses %j',
    (value) => {
      expect(parseByteSize(value)).toBeNull();
    },
  );
});

describe('parseFileCount', () => {
  it.each([
    [1, 1],
    [10, 10],
    ['10', 10],
  ])('%j -> %d files', (value, n) => expect(parseFileCount(value)).toBe(n));
  it.each([0, -3, 2.5, '1MB', 'ten', '', null])('refuses %j', (value) =>
    expect(parseFileCount(value)).toBeNull(),
  );
});

describe('parseMiniBatchSize', () => {
  it('defaults to 10 files and 1 MB', () => {
    expect(parseMiniBatchSize(undefined, 'files')).toBe(DEFAULT_FILES_MINI_BATCH_SIZE);
    expect(DEFAULT_FILES_MINI_BATCH_SIZE).toBe(10);
    expect(parseMiniBatchSize(undefined, 'tabular')).toBe(DEFAULT_TABULAR_MINI_BATCH_BYTES);
    expect(DEFAULT_TABULAR_MINI_BATCH_BYTES).toBe(1048576);
  });
  it('reads the value by input type', () => {
    expect(parseMiniBatchSize(4, 'files')).toBe(4);
    expect(parseMiniBatchSize(4, 'tabular')).toBe(4);
    expect(parseMiniBatchSize('2MB', 'tabular')).toBe(2 * 1024 ** 2);
    expect(parseMiniBatchSize('2MB', 'files')).toBeNull();
  });
});

describe('formatBytes / formatSizeSpec', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [1048576, '1 MB'],
    [1.5 * 1024 ** 3, '1.5 GB'],
    [3 * 1024 ** 4, '3 TB'],
  ])('formatBytes(%d) = %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it.each([
    [1048576, '1MB'],
    [512 * 1024, '512KB'],
    [1024 ** 3, '1GB'],
    [1000, '1000'],
  ])('formatSizeSpec(%d) = %s and parses back', (bytes, text) => {
    expect(formatSizeSpec(bytes)).toBe(text);
    expect(parseByteSize(text)).toBe(bytes);
  });
});
