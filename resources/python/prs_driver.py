"""Parallel Run Studio's Python driver: hosts one entry script for a worker's whole life.

The Node worker starts this file in a pseudo-terminal (its stdout is that terminal) and listens on a
Unix socket whose path is in PRS_CONTROL_SOCKET. This driver:

- gives stderr a terminal of its own (os.openpty) so stdout and stderr both stay terminal-aware
  and still arrive apart. A small forked helper owns that terminal's master side and copies what
  arrives to the socket: being a separate process, it still delivers the last bytes a dying
  interpreter wrote (a faulthandler trace after a segfault) once this process is gone;
- answers init / run / shutdown requests, one JSON object per line, over a second connection.

Python 3.8+, standard library only (pandas is imported when a tabular mini-batch arrives).
"""

import codecs
import collections
import faulthandler
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback

CONTROL_ENV = "PRS_CONTROL_SOCKET"
RESULT_SOCKET_ENV = "PRS_RESULT_SOCKET"
# A folder for big returns' lines (src/runtime/spillLines.ts): a file there, named in the result,
# reaches the output without ever being a string in the leader's memory.
SPILL_DIR_ENV = "PRS_SPILL_DIR"
SPILL_CHARS = 256 * 1024
STATE_ENV = "PRS_STATE_FILE"
PRELOAD_ENV = "PRS_PRELOAD"
# Made once: json.dumps/loads would rebuild them for every message (default=str: numpy scalars and
# other odd values in a reply become text instead of failing the mini-batch).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_DECODER = json.JSONDecoder()
# A result's usual shape, and its times (the closing brace of the result is in _TIMES).
_DONE = '{"status":"done","id":%d,"itemsTotal":%d,"itemsSucceeded":%d'
_TIMES = ',"times":{"startedAt":%.3f,"elapsedMs":%.4f,"cpuMs":%.4f,"runMs":%.4f}}'
_quote = json.encoder.encode_basestring_ascii
# UTF-8 bytes of U+FFFD for each unencodable character (a UTF-8 encoder takes only ASCII text back).
codecs.register_error("prs-fffd", lambda e: (b"\xef\xbf\xbd" * (e.end - e.start), e.end))
DRIVER_FILE = os.path.abspath(__file__)
# What a fork server (prs_fork_server.py) may import before it forks workers: safe to import before
# fork (widely forked after import by multiprocessing users) and slow enough to be worth it. A
# worker imports anything else itself.
PRELOADABLE = frozenset(["numpy", "pandas", "scipy", "sklearn", "PIL", "joblib", "pyarrow", "yaml"])

NONE_RESULT_MESSAGE = (
    "The run() method in the entry script should return a list or a pandas DataFrame. "
    "The length of returned result is considered as succeeded number of items. "
    "For --output_action=append_row, the returned result is what to write into the result file. "
    "The actual type of output is {type}."
)


# ---------------------------------------------------------------------------------------------
# stderr on a terminal of its own


def _copy_winsize(src_fd, dst_fd):
    try:
        import fcntl
        import termios

        size = fcntl.ioctl(src_fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst_fd, termios.TIOCSWINSZ, size)
    except Exception:
        pass


def _stderr_forwarder(master, slave, path):
    """The forked helper: master side of the stderr terminal -> the socket, until EOF."""
    try:
        os.close(slave)
        # Hold nothing but the terminal and the socket: an inherited result pipe kept open here
        # would delay the leader seeing the worker's channel close.
        os.closerange(3, master)
        os.closerange(master + 1, 1024)
        # Its own session: the SIGHUP that ends the interpreter's session must not end the helper
        # before it has delivered the interpreter's last words.
        os.setsid()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(b"E")
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break  # EIO: every writer closed its end
            if not data:
                break
            sock.sendall(data)
    except BaseException:
        pass
    os._exit(0)


def _setup_stderr(path):
    master, slave = os.openpty()
    _copy_winsize(1, slave)
    pid = os.fork()
    if pid == 0:
        _stderr_forwarder(master, slave, path)
    os.close(master)
    sys.stderr.flush()
    os.dup2(slave, 2)
    os.close(slave)
    return pid


def _watch_parent():
    """The worker can die by SIGKILL (a timeout): never outlive it, even if SIGHUP is ignored."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


# ---------------------------------------------------------------------------------------------
# Errors as the user should read them: their frames only


def _user_frames(tb):
    frames = traceback.extract_tb(tb)
    keep = [
        f
        for f in frames
        if os.path.abspath(f.filename) != DRIVER_FILE and not f.filename.startswith("<frozen importlib")
    ]
    return keep or frames


def error_info(exc):
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(_user_frames(exc.__traceback__))
    lines += traceback.format_exception_only(type(exc), exc)
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    text = "".join(lines)
    if cause is not None:
        text = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__)) + (
            "\nThe above exception was the direct cause of the following exception:\n\n"
            if exc.__cause__
            else "\nDuring handling of the above exception, another exception occurred:\n\n"
        ) + text
    return {"type": type(exc).__name__, "message": str(exc), "traceback": text}


# ---------------------------------------------------------------------------------------------
# The entry script


class MiniBatchContext(object):
    """run(mini_batch, mini_batch_context): what ParallelRunStep passes as the second argument."""

    def __init__(self, batch, dataset):
        self.minibatch_index = batch["id"]
        self.partition_key_value = dict(batch.get("partition_key_value") or {})
        self.dataset = dataset

    def __repr__(self):
        return "MiniBatchContext(minibatch_index=%r, partition_key_value=%r)" % (
            self.minibatch_index,
            self.partition_key_value,
        )


class DatasetDescription(object):
    """mini_batch_context.dataset: printable description of where the mini-batch's data came from."""

    def __init__(self, batch):
        self.sources = batch["sources"]
        self.partition_key_value = dict(batch.get("partition_key_value") or {})

    def __repr__(self):
        parts = []
        for s in self.sources:
            if s["kind"] == "files":
                parts.append("%d files" % len(s["files"]))
            elif s["kind"] == "table":
                parts.append("%s %s bytes %s" % (s["format"], s["file"], s["ranges"]))
            else:
                parts.append("parquet %s row groups %s" % (s["file"], s["rowGroups"]))
        return "Dataset(partition=%r, sources=[%s])" % (self.partition_key_value, "; ".join(parts))

    __str__ = __repr__


def _takes_two(fn):
    if type(fn) is type(_takes_two) and not hasattr(fn, "__wrapped__"):
        # A plain function says it in its code object (positional-only ones included); inspect
        # would add ~8 ms of imports to every worker's start. Bound methods, callables and
        # decorated functions go the long way.
        code = fn.__code__
        return code.co_argcount >= 2 or bool(code.co_flags & 0x04)  # CO_VARARGS
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _load_module(path):
    import importlib.util

    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# Mini-batch input


class InputDataError(Exception):
    """A record of an input file that cannot be read: the data is at fault, not the entry script."""


# An input's `encoding` (absent: UTF-8) as Python's codecs name it.
_CODECS = {"utf8": "utf-8", "latin1": "latin-1", "windows1252": "cp1252"}


def _shaped_columns(source):
    """run()'s columns from a source: an MLTable's shape picks them (TableShape in minibatch.ts)."""
    shape = source.get("shape")
    if shape is None:
        return source["columns"]
    if "select" in shape:
        return shape["select"]
    return source["columns"] + [name for name, _ in shape.get("added", [])]


def _apply_shape(frame, source):
    """An MLTable source's added columns (Path, partition-format columns), then its selection."""
    shape = source.get("shape")
    if shape is None:
        return frame
    for name, value in shape.get("added", []):
        frame[name] = value
    if "select" in shape:
        frame = frame[shape["select"]]
    return frame


def _read_text_table(source):
    return _apply_shape(_read_text_records(source), source)


def _read_text_records(source):
    import io

    import pandas as pd

    chunks = []
    with open(source["file"], "rb") as f:
        for start, end in source["ranges"]:
            f.seek(start)
            chunk = f.read(end - start)
            if chunk and not chunk.endswith(b"\n"):
                chunk += b"\n"
            chunks.append(chunk)
    data = b"".join(chunks)
    columns = source["columns"]
    if not data.strip():
        return pd.DataFrame(columns=columns)
    codec = _CODECS[source.get("encoding", "utf8")]
    try:
        if source["format"] == "jsonl":
            # The file's first record names the columns: later keys are dropped, missing ones are null
            # (the Node runtime's tables.ts reads JSONL the same way).
            return pd.read_json(io.BytesIO(data), lines=True, encoding=codec).reindex(columns=columns)
        if source["format"] == "tsv":
            # A TSV record is a line and a quote is data (as the planner and the Node runtime read it).
            import csv

            return pd.read_csv(
                io.BytesIO(data), header=None, names=columns, sep="\t", encoding=codec, quoting=csv.QUOTE_NONE
            )
        shape = source.get("shape")
        if shape is None:
            return pd.read_csv(io.BytesIO(data), header=None, names=columns, sep=",", encoding=codec)
        # An MLTable's read_delimited: its delimiter; an empty field is null, or "" with
        # empty_as_string (then no other text, "NA" say, becomes null either).
        extra = {"keep_default_na": False, "na_values": [""]}
        if shape.get("emptyAsString"):
            extra = {"na_filter": False}
        return pd.read_csv(
            io.BytesIO(data), header=None, names=columns, sep=shape.get("delimiter", ","), encoding=codec, **extra
        )
    except Exception:
        # pandas counts lines of the mini-batch's bytes, or none at all: find the record in the file.
        bad = _find_bad_record(source)
        if bad is None:
            raise
        line, what, text = bad
        shown = text if len(text) <= 200 else text[:200] + "..."
        raise InputDataError("%s line %d: %s: %r" % (source["file"], line, what, shown)) from None


def _line_at(path, offset):
    """The 1-based line number of the byte at `offset` of a file."""
    line = 1
    with open(path, "rb") as f:
        left = offset
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            line += block.count(b"\n")
            left -= len(block)
    return line


def _find_bad_record(source):
    """(line in the file, what is wrong, the record) of the first record pandas cannot read, or None.
    Only run after a read failed, so it may be slow."""
    import csv
    import io

    fmt = source["format"]
    columns = source["columns"]
    codec = _CODECS[source.get("encoding", "utf8")]
    with open(source["file"], "rb") as f:
        for start, end in source["ranges"]:
            f.seek(start)
            raw = f.read(end - start)
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError as exc:
                at = start + exc.start
                bad = " ".join("%02x" % b for b in raw[exc.start : exc.start + 4])
                what = "not valid %s at byte %d (bytes %s)" % (codec.upper(), at, bad)
                if codec == "utf-8":
                    what += "; if the file is Latin-1 or Windows-1252, set the input's encoding: latin1 or windows1252"
                line_start = raw.rfind(b"\n", 0, exc.start) + 1
                record = raw[line_start : raw.find(b"\n", exc.start) if b"\n" in raw[exc.start :] else len(raw)]
                return _line_at(source["file"], at), what, record.decode(codec, "replace")
            first = None  # the range's first line, counted only when a bad record is in it
            if fmt == "jsonl":
                for i, record in enumerate(text.split("\n")):
                    if not record.strip():
                        continue
                    try:
                        value = json.loads(record)
                        problem = None if isinstance(value, dict) else "a JSON %s, not an object" % type(value).__name__
                    except ValueError as exc:
                        problem = "not a JSON object (%s)" % exc
                    if problem:
                        first = first or _line_at(source["file"], start)
                        return first + i, problem, record
                continue
            # CSV and TSV: pandas' C parser fails on a record with more fields than columns (fewer are
            # read as missing values).
            if fmt == "tsv":
                reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
            else:
                delimiter = (source.get("shape") or {}).get("delimiter", ",")
                reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            lines_before = 0
            try:
                for row in reader:
                    if len(row) > len(columns):
                        first = first or _line_at(source["file"], start)
                        what = "%d fields where there are %d columns (%s)" % (len(row), len(columns), ", ".join(columns))
                        return first + lines_before, what, (("\t" if fmt == "tsv" else ",").join(row))
                    lines_before = reader.line_num
            except csv.Error as exc:
                return _line_at(source["file"], start) + lines_before, "not a CSV record (%s)" % exc, ""
    return None


def _frame_from_columns(pd, table):
    """A parquet mini-batch sent column by column (ColumnTable in src/runtime/tables.ts): a numeric
    column without nulls as its bytes, which become a numpy array of its own dtype (writable, as a
    DataFrame's columns are); any other as its values."""
    import base64
    import numpy as np

    data = {}
    for name, col in zip(table["columns"], table["cols"]):
        if "b64" in col:
            data[name] = np.frombuffer(bytearray(base64.b64decode(col["b64"])), dtype=col["dtype"])
        else:
            data[name] = col["values"]
    return pd.DataFrame(data, columns=table["columns"])


def build_input(batch, table):
    sources = batch["sources"]
    if all(s["kind"] == "files" for s in sources):
        files = []
        for s in sources:
            files.extend(s["files"])
        return files
    import pandas as pd

    if table is not None:  # parquet rows, read on the Node side
        if "cols" in table:
            return _frame_from_columns(pd, table)
        return pd.DataFrame(table["rows"], columns=table["columns"])
    frames = [_read_text_table(s) for s in sources]
    if len(frames) == 1:
        return frames[0]
    # A partitioned table gathers rows from several files: the first file's columns, by name.
    return pd.concat(frames, ignore_index=True).reindex(columns=_shaped_columns(sources[0]))


# ---------------------------------------------------------------------------------------------
# Return values


NEWLINE_WARNING = (
    "run() returned an element holding a newline: it became several lines of the output file, which append_row "
    "means to hold one line per element (replace or escape the newlines, or return JSON-encodable values)"
)


def _split_lines(result, lines, header):
    """True when an element became more than one output line (the Node runtime says the same)."""
    if _is_dataframe(result):
        # to_csv quotes a cell with a newline, and the line split cuts it: more lines than rows.
        count = lines[0].count("\n") + 1 if lines else 0
        return count != len(result) + (1 if header else 0)
    # One join at C speed rather than a Python loop over every line.
    return "\n" in "".join(lines)


def _is_dataframe(value):
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def _number_rows(frame):
    """A frame of numbers' rows as to_csv(sep=" ", index=False) writes them, ~4x faster (a scored
    mini-batch's id and prediction: 10 ms for 70,000 rows, to_csv 37 ms). Only where str() of each
    value is exactly to_csv's text: integers, booleans, float64 without NaN (to_csv writes NaN as
    nothing, float32 shorter); None for anything else, which to_csv then writes."""
    import numpy as np

    columns = []
    for _, column in frame.items():
        dtype = column.dtype
        if not isinstance(dtype, np.dtype):
            return None  # extension types (nullable Int64, categories...)
        values = column.to_numpy()
        if dtype.kind == "f":
            if dtype != np.float64 or np.isnan(values).any():
                return None
        elif dtype.kind not in "iub":
            return None
        columns.append(values.tolist())
    if not columns:
        return None
    if len(columns) == 1:
        return "\n".join(map(str, columns[0]))
    return "\n".join(map(" ".join, zip(*[map(str, c) for c in columns])))


def result_lines(value, header):
    """append_row lines: str() of each element; a DataFrame one row per line, space-separated.

    A DataFrame's rows stay one string (its lines joined by newlines, as the output file holds them):
    splitting them into a list, quoting each for JSON and parsing each again in the leader cost more
    than to_csv itself (issue 15). The output is the elements joined by newlines either way."""
    if _is_dataframe(value):
        text = None if header or len(value) == 0 else _number_rows(value)
        if text is not None:
            return [text]
        try:
            text = value.to_csv(sep=" ", header=header, index=False, lineterminator="\n")
        except TypeError:  # pandas < 1.5
            text = value.to_csv(sep=" ", header=header, index=False, line_terminator="\n")
        if not text:
            return []
        # One line per row: a row of one empty cell is an empty line, not nothing.
        return [text[:-1] if text.endswith("\n") else text]
    return [str(x) for x in value]


# ---------------------------------------------------------------------------------------------
# The driver


def _decoded(data):
    if data is None:
        return None
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _record_subprocess_errors(path):
    """Failed subprocess.run() calls of the entry script go to logs/user/error/<node_id>/<process>.txt,
    as ParallelRunStep's do: the command, its return code and what it wrote to stderr (when the script
    captured it, e.g. capture_output=True). The call itself behaves exactly as before."""
    import functools
    import subprocess

    original = subprocess.run

    def write(cmd, returncode, stdout, stderr, what):
        lines = [
            "%s %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), what),
            "command: %s" % (cmd if isinstance(cmd, str) else " ".join(str(c) for c in cmd)),
            "return code: %s" % returncode,
        ]
        err = _decoded(stderr)
        lines.append(
            "stderr:\n" + err.rstrip("\n")
            if err
            else "stderr: (not captured: use capture_output=True to keep it here; "
            "otherwise it is in this process's stderr log)"
        )
        out = _decoded(stdout)
        if out:
            lines.append("stdout (last 2000 characters):\n" + out[-2000:].rstrip("\n"))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n\n")
        except OSError:
            pass

    @functools.wraps(original)
    def run(*args, **kwargs):
        try:
            completed = original(*args, **kwargs)
        except subprocess.CalledProcessError as exc:
            write(exc.cmd, exc.returncode, exc.stdout, exc.stderr, "subprocess failed (CalledProcessError)")
            raise
        except subprocess.TimeoutExpired as exc:
            write(exc.cmd, None, exc.stdout, exc.stderr, "subprocess timed out after %s s" % exc.timeout)
            raise
        if completed.returncode != 0:
            write(completed.args, completed.returncode, completed.stdout, completed.stderr, "subprocess failed")
        return completed

    subprocess.run = run


class Driver(object):
    def __init__(self, conn, results, state):
        self.conn = conn
        # Where results go: the leader's own socket or, when there is none, the control connection,
        # for the worker to pass on.
        self.results = results
        self.state = state
        self.spill_dir = os.environ.get(SPILL_DIR_ENV)
        self.spilled = 0
        self.inbox = bytearray()
        self.poller = select.poll()
        self.poller.register(conn, select.POLLIN)
        self.pending = collections.deque()
        self.module = None
        self.run_fn = None
        self.run_takes_context = False
        self.config = None
        self.profiler = None
        self.append_row = False
        self.dataframe_header = False

    def send(self, message):
        self.conn.sendall(_ENCODER.encode(message).encode("utf-8") + b"\n")

    # -- init ---------------------------------------------------------------------------------

    def configure(self, config):
        self.config = config
        self.append_row = config.get("outputAction") == "append_row"
        self.dataframe_header = bool(config.get("dataframeHeader"))
        import logging

        level = getattr(logging, config.get("loggingLevel") or "INFO", logging.INFO)
        root = logging.getLogger()
        root.setLevel(level)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s|%(levelname)s|%(name)s|%(message)s"))
        root.addHandler(handler)

        from azureml_user.parallel_run import _context

        _context.configure(config)
        if config.get("metricsFile"):
            # In the environment: subprocesses of the entry script record into the run's metrics too.
            os.environ["PRS_METRICS_FILE"] = config["metricsFile"]
        if config.get("errorLogFile"):
            _record_subprocess_errors(config["errorLogFile"])

        script = config["entryScript"]
        source_dir = config["sourceDirectory"]
        for folder in (os.path.dirname(script), source_dir):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        try:
            os.chdir(source_dir)
        except OSError:
            pass
        sys.argv = [script] + list(config.get("args") or [])

        profiling = config.get("profilingModule")
        args = list(config.get("args") or [])
        if not profiling and "--profiling_module" in args:
            i = args.index("--profiling_module")
            profiling = args[i + 1] if i + 1 < len(args) else None
        if profiling:
            if profiling != "cProfile":
                print(
                    "profiling_module %r is not supported; use cProfile. Profiling is off." % profiling,
                    file=sys.stderr,
                )
            else:
                import cProfile

                self.profiler = cProfile.Profile()

    def init(self, config):
        t0 = time.perf_counter()
        try:
            self.configure(config)
            if self.profiler:
                self.profiler.enable()
            try:
                self.module = _load_module(config["entryScript"])
                self.run_fn = getattr(self.module, "run", None)
                if not callable(self.run_fn):
                    raise AttributeError(
                        "%s defines no run(mini_batch) function; an entry script needs run() (init() and "
                        "shutdown() are optional)" % config["entryScript"]
                    )
                self.run_takes_context = _takes_two(self.run_fn)
                init_fn = getattr(self.module, "init", None)
                if callable(init_fn):
                    init_fn()
            finally:
                if self.profiler:
                    self.profiler.disable()
        except Exception as exc:
            self.dump_profile()
            self.send({"t": "init-failed", "error": error_info(exc)})
            return
        # What the next run's fork server may import before forking (see prs_fork_server.py): the
        # packages and their public modules two deep (sklearn.linear_model, PIL.PngImagePlugin),
        # which bring in their private parts.
        imported = sorted(
            name
            for name in list(sys.modules)
            if name.split(".")[0] in PRELOADABLE
            and name.count(".") <= 1
            and not any(part.startswith("_") for part in name.split("."))
        )
        self.send({"t": "ready", "initMs": (time.perf_counter() - t0) * 1000.0, "imported": imported})

    # -- run ----------------------------------------------------------------------------------

    def run(self, batch):
        """Runs one mini-batch and reports its result before returning (crash attribution)."""
        started_at = time.time() * 1000.0
        t_start = time.perf_counter()
        cpu0 = time.process_time()
        batch_id = batch["id"]
        # Which mini-batch runs now, for the worker's message if this process dies in it.
        self.state[0] = batch_id
        items = batch.get("items", 0)
        read_ms = batch.get("readMs", 0.0)
        result = None
        run_s = 0.0
        error = batch.get("inputError")
        if error is None:
            try:
                data = build_input(batch, batch.get("table"))
            except InputDataError as exc:
                # The user's data, not code: the file and line say it all, a traceback would not help.
                error = {"type": "InputDataError", "message": str(exc)}
            except Exception as exc:
                error = error_info(exc)
                error["type"] = "InputReadError"
                error["message"] = "cannot read mini-batch %s: %s: %s" % (batch_id, type(exc).__name__, exc)
        if error is None:
            items = len(data)
            args = (data,)
            if self.run_takes_context:
                args = (data, MiniBatchContext(batch, DatasetDescription(batch)))
            t0 = time.perf_counter()
            try:
                if self.profiler:
                    self.profiler.enable()
                try:
                    result = self.run_fn(*args)
                finally:
                    if self.profiler:
                        self.profiler.disable()
            except Exception as exc:
                error = error_info(exc)
            run_s = time.perf_counter() - t0

        reply = {"status": "done", "id": batch_id, "itemsTotal": items}
        lines = None
        if error is None:
            if not (isinstance(result, (list, tuple)) or _is_dataframe(result)):
                error = {
                    "type": "ReturnValueError",
                    "message": NONE_RESULT_MESSAGE.format(type=type(result).__name__),
                }
            else:
                count = len(result)
                reply["itemsSucceeded"] = count if count < items else items
                if count > items:
                    reply["warning"] = (
                        "run() returned %d elements for mini-batch %s of %d items: all were written, %d counted "
                        "as successes" % (count, batch_id, items, items)
                    )
                if self.append_row:
                    try:
                        lines = result_lines(result, self.dataframe_header)
                    except Exception as exc:
                        error = error_info(exc)
                    if lines is not None and _split_lines(result, lines, self.dataframe_header):
                        warning = reply.get("warning")
                        reply["warning"] = NEWLINE_WARNING if warning is None else warning + "; " + NEWLINE_WARNING
        if error is not None:
            reply = {"status": "failed", "id": batch_id, "itemsTotal": items, "error": error}
            # As the worker did: the user's stderr log shows every failure with its traceback.
            sys.stderr.write(
                "mini-batch %s failed: %s\n" % (batch_id, error.get("traceback") or "%s: %s" % (error["type"], error["message"]))
            )
            sys.stderr.flush()
        # Encoded by hand: the general encoder costs a third of a trivial mini-batch's time here.
        lines_file = self.spill(lines) if lines is not None and error is None else None
        if error is None and len(reply) == 4 and type(items) is int and type(batch_id) is int:
            body = _DONE % (batch_id, items, reply["itemsSucceeded"])
            if lines_file is not None:
                body += ',"linesFile":' + _quote(lines_file)
            elif lines is not None:
                body += ',"lines":[' + ",".join(map(_quote, lines)) + "]"
        else:
            if lines_file is not None:
                reply["linesFile"] = lines_file
            elif lines is not None and error is None:
                reply["lines"] = lines
            body = _ENCODER.encode(reply)[:-1]
        body += _TIMES % (
            started_at,
            (time.perf_counter() - t_start) * 1000.0 + read_ms,
            (time.process_time() - cpu0) * 1000.0,
            run_s * 1000.0,
        )
        self.report(body, batch.get("reply"))
        self.state[0] = -1

    def spill(self, lines):
        """Big lines into a file of the spill folder, returned by name; None: they go in the message."""
        if not self.spill_dir or len(lines) + sum(map(len, lines)) < SPILL_CHARS:
            return None
        self.spilled += 1
        path = os.path.join(self.spill_dir, "%d-%d.lines" % (os.getpid(), self.spilled))
        try:
            with open(path, "wb") as f:
                # Lone surrogates (an undecodable file name) become U+FFFD, as the leader's UTF-8
                # makes them of the same text sent in the message.
                f.write(("\n".join(lines) + "\n").encode("utf-8", "prs-fffd"))
        except Exception:  # a full disk, say: the lines go in the message, as without a folder
            try:
                os.unlink(path)
            except OSError:
                pass
            return None
        return path

    def report(self, body, to_worker):
        """One result, as the protocol's results message, written before the next mini-batch starts."""
        data = ('{"t":"results","results":[' + body + "]}\n").encode("utf-8")
        if self.results is None or to_worker:
            self.conn.sendall(data)
        else:
            self.results.sendall(data)

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(self):
        fn = getattr(self.module, "shutdown", None) if self.module is not None else None
        if callable(fn):
            try:
                fn()
            except Exception as exc:
                sys.stderr.write("shutdown() failed:\n" + error_info(exc)["traceback"])
        self.dump_profile()
        try:
            import logging

            logging.shutdown()
        except Exception:
            pass

    def dump_profile(self):
        if not self.profiler or not self.config:
            return
        path = self.config.get("profileFile")
        if not path:
            return
        try:
            import io
            import pstats

            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.profiler.dump_stats(path)
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(40)
            with open(path + ".txt", "w") as f:
                f.write("Top functions by cumulative time (load the full profile with pstats.Stats(%r))\n" % path)
                f.write(out.getvalue())
        except Exception as exc:
            sys.stderr.write("could not write the profile %s: %s\n" % (path, exc))

    # -- loop ---------------------------------------------------------------------------------

    def read_message(self, block):
        """The next control message; None when none is waiting (block=False). EOFError: the worker is gone."""
        while True:
            nl = self.inbox.find(b"\n")
            if nl != -1:
                line = bytes(self.inbox[:nl])
                del self.inbox[: nl + 1]
                return _DECODER.decode(line.decode("utf-8"))
            # poll(0) costs a fraction of a failing non-blocking recv (no exception).
            if not block and not self.poller.poll(0):
                return None
            chunk = self.conn.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.inbox += chunk

    def handle(self, request):
        """Returns False when the driver should stop."""
        kind = request["t"]
        if kind == "run":
            self.pending.extend(request["batches"])
        elif kind == "init":
            self.init(request["config"])
        elif kind == "shutdown":
            # Finish the current mini-batch (done by now), drop the queued ones, run shutdown().
            self.pending.clear()
            self.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            self.conn.sendall(b'{"t":"bye"}\n')
            return False
        return True

    def serve(self):
        pending = self.pending
        try:
            while True:
                if pending:
                    self.run(pending.popleft())
                    # Mini-batches come in bulk: look for more (or a stop) without waiting.
                    request = self.read_message(False)
                    if request is None:
                        continue
                else:
                    request = self.read_message(True)
                if not self.handle(request):
                    return
        except EOFError:
            return  # the worker went away

def main(said=b""):
    """`said`: what the fork server's imports printed (prs_fork_server.py), shown as if printed here."""
    path = os.environ.pop(CONTROL_ENV, None)
    if not path:
        sys.stderr.write("prs_driver: %s is not set; this file is started by a Parallel Run Studio worker\n" % CONTROL_ENV)
        return 2
    _setup_stderr(path)
    if said:
        os.write(2, said)
    faulthandler.enable(file=sys.stderr, all_threads=True)
    threading.Thread(target=_watch_parent, name="prs-parent-watch", daemon=True).start()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.sendall(b"C")
    results = _result_socket()
    prefer_stdlib_distutils()
    _preload()
    Driver(conn, results, _state()).serve()
    return 0


_stdlib_distutils = False


def prefer_stdlib_distutils():
    """Where the interpreter has distutils of its own, `import distutils` gets it.

    setuptools' shim (distutils-precedence.pth, on every Debian python3 with setuptools) answers that
    import by importing setuptools and pkg_resources: ~0.25 s of a job's start-up wherever the script
    imports scikit-learn, whose joblib imports distutils (issue 15). Python below 3.12 ships distutils;
    where it is there and the user set neither SETUPTOOLS_USE_DISTUTILS nor imported distutils yet, the
    worker gets setuptools' own switch, SETUPTOOLS_USE_DISTUTILS=stdlib (its subprocesses too). The
    user's own setting always wins. Called by the fork server and again by each worker it forks, whose
    environment is replaced by the worker's.
    """
    global _stdlib_distutils
    if not _stdlib_distutils:
        if "SETUPTOOLS_USE_DISTUTILS" in os.environ or "distutils" in sys.modules:
            return
        finder = getattr(sys.modules.get("_distutils_hack"), "DISTUTILS_FINDER", None)
        if finder is None or finder not in sys.meta_path:
            return
        from importlib.machinery import PathFinder

        sys.meta_path.remove(finder)
        if PathFinder.find_spec("distutils") is None:
            sys.meta_path.insert(0, finder)  # Python 3.12+, or Debian without python3-distutils
            return
        _stdlib_distutils = True
    os.environ["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"


def _preload():
    """Imports what every mini-batch will need (pandas, for tables) while init waits for the leader's
    interpreter check: otherwise the first mini-batch of every worker pays for it (a quarter of a
    second, issue 15). Connected first, so the worker sees the interpreter up as early as before.
    A module that cannot be imported is left to fail where it did before, in the mini-batch."""
    for name in filter(None, os.environ.pop(PRELOAD_ENV, "").split(",")):
        try:
            __import__(name)
        except Exception:
            pass


def _result_socket():
    """A connection to the leader's result socket, when the worker names one.

    Writing results there straight away keeps the worker process off the path of every mini-batch
    (one wake-up fewer per result on each side). Without it, results go back on the control connection.
    """
    path = os.environ.pop(RESULT_SOCKET_ENV, None)
    if not path:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def _state():
    """One int64 shared with the worker: the mini-batch running now (-1: none), for crash messages.

    A memory-mapped file: writing it costs no system call, and the worker reads it only after a crash.
    """
    import mmap

    name = os.environ.pop(STATE_ENV, None)
    if name:
        try:
            with open(name, "r+b") as f:
                view = memoryview(mmap.mmap(f.fileno(), 8)).cast("q")
                view[0] = -1
                return view
        except (OSError, ValueError, TypeError):
            pass
    return [-1]


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # A normal exit: the user's atexit handlers run; closing fd 2 lets the forwarder reach EOF.
    sys.exit(code)
