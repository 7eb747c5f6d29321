"""The MLTable format read with pandas, as Parallel Run Studio's planner reads a `type: mltable` input.

Same meaning, key for key, as src/engine/spec/mltable.ts and src/engine/partition/mltableColumns.ts:
paths (file, folder, pattern) relative to the MLTable file; one read step (read_delimited,
read_parquet, read_json_lines) or none (a table of the files' paths); then take, keep_columns,
drop_columns and extract_columns_from_partition_format. Errors name the MLTable file and the key.
"""

import copy
import glob
import os
import re

_READ_STEPS = ("read_delimited", "read_parquet", "read_json_lines")
_OTHER_STEPS = ("take", "keep_columns", "drop_columns", "extract_columns_from_partition_format")
_HEADERS = ("all_files_same_headers", "all_files_different_headers", "from_first_file", "no_header")
# MLTable's encodings as Python's codecs name them (ASCII is read as UTF-8, as the planner does).
_CODECS = {
    "utf8": "utf-8",
    "utf8bom": "utf-8-sig",
    "ascii": "utf-8",
    "latin1": "latin-1",
    "iso88591": "latin-1",
    "windows1252": "cp1252",
}


class MLTableError(ValueError):
    """An MLTable file that cannot be read as written: the message names the file and the key."""


class MLTableHeaders(object):
    all_files_different_headers = "all_files_different_headers"
    all_files_same_headers = "all_files_same_headers"
    from_first_file = "from_first_file"
    no_header = "no_header"


def _yaml():
    try:
        import yaml
    except ImportError:
        raise MLTableError("reading an MLTable file needs PyYAML in this interpreter (pip install pyyaml)") from None
    return yaml


def load(uri, storage_options=None, ml_client=None):
    """The MLTable of a folder holding an MLTable file (or of the MLTable file itself)."""
    path = os.fspath(uri)
    if re.match(r"^[a-z][a-z0-9+.-]*://", path, re.I) and not path.startswith("file://"):
        raise MLTableError("%s is a cloud location (expected a local folder with an MLTable file)" % path)
    path = path[len("file://"):] if path.startswith("file://") else path
    path = os.path.abspath(path)
    file = path if os.path.isfile(path) else os.path.join(path, "MLTable")
    if not os.path.isfile(file):
        raise MLTableError("%s has no MLTable file (expected a folder with an MLTable file)" % path)
    with open(file, encoding="utf-8") as f:
        try:
            doc = _yaml().safe_load(f)
        except Exception as exc:
            raise MLTableError("%s: not valid YAML (%s)" % (file, exc)) from None
    if not isinstance(doc, dict):
        raise MLTableError("%s: %r is not an MLTable (expected a mapping with paths and transformations)" % (file, doc))
    return MLTable(doc, os.path.dirname(file), file)


def _new(paths, step):
    doc = {"type": "mltable", "paths": [dict(p) for p in paths], "transformations": [step] if step else []}
    return MLTable(doc, os.getcwd(), None)


def from_paths(paths):
    return _new(paths, None)


def from_delimited_files(
    paths,
    header="all_files_same_headers",
    delimiter=",",
    support_multi_line=False,
    empty_as_string=False,
    encoding="utf8",
    include_path_column=False,
    infer_column_types=True,
):
    opts = {
        "delimiter": delimiter,
        "header": getattr(header, "value", header),
        "encoding": getattr(encoding, "value", encoding),
        "empty_as_string": empty_as_string,
        "include_path_column": include_path_column,
    }
    return _new(paths, {"read_delimited": opts})


def from_parquet_files(paths, include_path_column=False):
    return _new(paths, {"read_parquet": {"include_path_column": include_path_column}})


def from_json_lines_files(paths, invalid_lines="error", encoding="utf8", include_path_column=False):
    return _new(paths, {"read_json_lines": {"include_path_column": include_path_column, "encoding": encoding}})


class MLTable(object):
    def __init__(self, doc, base, file):
        self._doc = doc
        self._base = base
        self._file = file

    def __repr__(self):
        return _yaml().safe_dump(self._doc, sort_keys=False)

    # -- steps ---------------------------------------------------------------------------------

    def _with(self, step):
        doc = copy.deepcopy(self._doc)
        doc.setdefault("transformations", []).append(step)
        return MLTable(doc, self._base, self._file)

    def take(self, count=20):
        if not (isinstance(count, int) and count > 0):
            raise MLTableError("take: %r is not valid (expected a whole number of records >= 1)" % (count,))
        return self._with({"take": count})

    def keep_columns(self, columns):
        return self._with({"keep_columns": [columns] if isinstance(columns, str) else list(columns)})

    def drop_columns(self, columns):
        return self._with({"drop_columns": [columns] if isinstance(columns, str) else list(columns)})

    def extract_columns_from_partition_format(self, partition_format):
        return self._with({"extract_columns_from_partition_format": {"partition_format": partition_format}})

    @property
    def paths(self):
        return [dict(p) for p in self._doc.get("paths") or []]

    def save(self, path=None, overwrite=True, colocated=False, show_progress=False, if_err_remove_files=True):
        folder = os.path.abspath(path or self._base)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, "MLTable")
        if os.path.exists(target) and not overwrite:
            raise MLTableError("%s exists (expected overwrite=True to replace it)" % target)
        doc = copy.deepcopy(self._doc)
        # Paths stay valid from the new folder: relative to it when below it, else absolute.
        for entry in doc.get("paths") or []:
            for kind in ("file", "folder", "pattern"):
                if kind in entry and not re.match(r"^[a-z][a-z0-9+.-]*://", entry[kind], re.I):
                    absolute = os.path.normpath(os.path.join(self._base, entry[kind]))
                    rel = os.path.relpath(absolute, folder)
                    entry[kind] = absolute if rel.startswith("..") else "./" + rel.replace(os.sep, "/")
        with open(target, "w", encoding="utf-8") as f:
            _yaml().safe_dump(doc, f, sort_keys=False)
        return MLTable(doc, folder, target)

    # -- reading -------------------------------------------------------------------------------

    def _where(self):
        return self._file or "MLTable"

    def _error(self, key, message):
        return MLTableError("%s: %s: %s" % (self._where(), key, message))

    def _files(self):
        paths = self._doc.get("paths")
        if not isinstance(paths, list) or not paths:
            raise self._error("paths", "%r is not valid (expected a list of {file: ...}, {folder: ...} or {pattern: ...})" % (paths,))
        out = []
        for i, entry in enumerate(paths):
            kinds = [k for k in ("file", "folder", "pattern") if isinstance(entry, dict) and k in entry]
            if len(kinds) != 1 or not isinstance(entry[kinds[0]], str):
                raise self._error("paths.%d" % i, "%r is not valid (expected one of file, folder or pattern)" % (entry,))
            kind, value = kinds[0], entry[kinds[0]]
            if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I) and not value.startswith("file://"):
                raise self._error("paths.%d.%s" % (i, kind), "%r is a cloud location (expected a local path)" % value)
            value = value[len("file://"):] if value.startswith("file://") else value
            absolute = os.path.normpath(os.path.join(self._base, value))
            if kind == "file":
                found = [absolute] if os.path.isfile(absolute) else []
            elif kind == "folder":
                found = [
                    os.path.join(d, n)
                    for d, _, names in os.walk(absolute)
                    for n in names
                    if not (n == "MLTable" and d == absolute)
                ]
            else:
                found = [p for p in glob.glob(absolute, recursive=True) if os.path.isfile(p)]
            if not found:
                raise self._error("paths.%d.%s" % (i, kind), "%r matches no file (expected at least one)" % value)
            # Byte-wise order of the relative path, as the planner walks.
            found.sort(key=lambda p: os.path.relpath(p, absolute if kind == "folder" else self._base).encode("utf-8", "surrogateescape"))
            out.extend(found)
        return out

    def _steps(self):
        steps = self._doc.get("transformations") or []
        if not isinstance(steps, list):
            raise self._error("transformations", "%r is not valid (expected a list of steps)" % (steps,))
        parsed = []
        for i, step in enumerate(steps):
            if isinstance(step, str):
                name, args = step, None
            elif isinstance(step, dict) and len(step) == 1:
                name, args = next(iter(step.items()))
            else:
                raise self._error("transformations.%d" % i, "%r is not valid (expected one step)" % (step,))
            if name not in _READ_STEPS + _OTHER_STEPS:
                raise self._error(
                    "transformations.%d.%s" % (i, name),
                    "not supported here (expected one of %s)" % ", ".join(_READ_STEPS + _OTHER_STEPS),
                )
            parsed.append(("transformations.%d.%s" % (i, name), name, args))
        return parsed

    def to_pandas_dataframe(self):
        import pandas as pd

        files = self._files()
        steps = self._steps()
        read = [s for s in steps if s[1] in _READ_STEPS]
        if not read:
            return pd.DataFrame({"Path": files})
        at, name, opts = read[0]
        opts = opts or {}
        frames = []
        first_columns = None
        for n, file in enumerate(files):
            frame = self._read(file, at, name, opts, n == 0, first_columns)
            if n == 0:
                first_columns = list(frame.columns)
            if opts.get("include_path_column"):
                frame["Path"] = file
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        # Partition-format columns exist from the start, wherever the step stands (as the planner
        # reads them): the column steps may keep or drop them.
        for at, name, args in steps:
            if name == "extract_columns_from_partition_format":
                fmt = args.get("partition_format") if isinstance(args, dict) else args
                table = self._partition_columns(table, frames, files, fmt, at)
        for at, name, args in steps:
            if name == "take":
                if not (isinstance(args, int) and args > 0):
                    raise self._error(at, "%r is not valid (expected a whole number of records >= 1)" % (args,))
                table = table.head(args)
            elif name in ("keep_columns", "drop_columns"):
                names = [args] if isinstance(args, str) else list(args or [])
                missing = [c for c in names if c not in table.columns]
                if missing:
                    raise self._error(at, "no column %s (the columns: %s)" % (", ".join(missing), ", ".join(map(str, table.columns))))
                table = table[[c for c in table.columns if (c in names) == (name == "keep_columns")]]
        return table.reset_index(drop=True)

    def _read(self, file, at, name, opts, first, first_columns):
        import pandas as pd

        codec = _CODECS.get(str(opts.get("encoding", "utf8")).lower())
        if codec is None:
            raise self._error(at + ".encoding", "%r is not supported here (expected one of %s)" % (opts.get("encoding"), ", ".join(_CODECS)))
        if name == "read_parquet":
            try:
                return pd.read_parquet(file)
            except ImportError as exc:
                raise self._error(at, "reading %s needs pyarrow or fastparquet in this interpreter (%s)" % (file, exc)) from None
        if name == "read_json_lines":
            return pd.read_json(file, lines=True, encoding=codec)
        header = opts.get("header", "all_files_same_headers")
        if header not in _HEADERS:
            raise self._error(at + ".header", "%r is not valid (expected one of %s)" % (header, ", ".join(_HEADERS)))
        na = {"na_filter": False} if opts.get("empty_as_string") else {"keep_default_na": False, "na_values": [""]}
        headerless = header == "no_header" or (header == "from_first_file" and not first)
        frame = pd.read_csv(file, sep=opts.get("delimiter", ","), encoding=codec, header=None if headerless else 0, **na)
        if headerless:
            if header == "from_first_file" and first_columns is not None:
                frame.columns = first_columns[: len(frame.columns)]
            else:
                frame.columns = ["Column%d" % (i + 1) for i in range(len(frame.columns))]
        return frame

    def _partition_columns(self, table, frames, files, fmt, at):
        if not isinstance(fmt, str) or "{" not in fmt:
            raise self._error(at, "%r is not valid (expected a format such as {Store}/{Brand}/{file_name}.{extension})" % (fmt,))
        names = []
        source = ""
        body = fmt.lstrip("/")
        i = 0
        while i < len(body):
            c = body[i]
            if c == "{":
                close = body.find("}", i)
                name = body[i + 1 : close] if close > 0 else ""
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_ -]*$", name):
                    raise self._error(at, "{%s}: not a supported placeholder (expected {name}, read as text)" % name)
                if name in names:
                    source += "(?P=g%d)" % names.index(name)
                else:
                    source += r"(?P<g%d>[^./\\]+)" % len(names)
                    names.append(name)
                i = close + 1
                continue
            source += ".*?" if c == "*" else re.escape(c)
            i += 1
        pattern = re.compile(r"(?:^|/)" + source + "$")
        values = []
        for file, frame in zip(files, frames):
            rel = os.path.relpath(file, self._base).replace(os.sep, "/")
            m = pattern.search(rel) or pattern.search(os.path.dirname(rel))
            if not m:
                raise self._error(at, "path %r does not match %r (expected every file's path to match it)" % (rel, fmt))
            values.extend([[m.group("g%d" % k) for k in range(len(names))]] * len(frame))
        table = table.copy()
        for k, name in enumerate(names):
            table[name] = [v[k] for v in values]
        return table

    def show(self, count=20):
        return self.take(count).to_pandas_dataframe()
