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

import faulthandler
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback

CONTROL_ENV = "PRS_CONTROL_SOCKET"
# Made once: json.dumps/loads would rebuild them for every message (default=str: numpy scalars and
# other odd values in a reply become text instead of failing the mini-batch).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_DECODER = json.JSONDecoder()
DRIVER_FILE = os.path.abspath(__file__)

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


def _read_text_table(source):
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
    if source["format"] == "jsonl":
        # The file's first record names the columns: later keys are dropped, missing ones are null
        # (the Node runtime's tables.ts reads JSONL the same way).
        return pd.read_json(io.BytesIO(data), lines=True).reindex(columns=columns)
    sep = "\t" if source["format"] == "tsv" else ","
    return pd.read_csv(io.BytesIO(data), header=None, names=columns, sep=sep)


def build_input(batch, table):
    sources = batch["sources"]
    if all(s["kind"] == "files" for s in sources):
        files = []
        for s in sources:
            files.extend(s["files"])
        return files
    import pandas as pd

    if table is not None:  # parquet rows, read on the Node side
        return pd.DataFrame(table["rows"], columns=table["columns"])
    frames = [_read_text_table(s) for s in sources]
    if len(frames) == 1:
        return frames[0]
    # A partitioned table gathers rows from several files: the first file's columns, by name.
    return pd.concat(frames, ignore_index=True).reindex(columns=sources[0]["columns"])


# ---------------------------------------------------------------------------------------------
# Return values


def _is_dataframe(value):
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def result_lines(value, header):
    """append_row lines: str() of each element; a DataFrame one row per line, space-separated."""
    if _is_dataframe(value):
        try:
            text = value.to_csv(sep=" ", header=header, index=False, lineterminator="\n")
        except TypeError:  # pandas < 1.5
            text = value.to_csv(sep=" ", header=header, index=False, line_terminator="\n")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines
    return [str(x) for x in value]


# ---------------------------------------------------------------------------------------------
# The driver


class Driver(object):
    def __init__(self, conn):
        self.conn = conn
        self.rfile = conn.makefile("rb")
        self.module = None
        self.run_fn = None
        self.run_takes_context = False
        self.config = None
        self.profiler = None

    def send(self, message):
        self.conn.sendall(_ENCODER.encode(message).encode("utf-8") + b"\n")

    # -- init ---------------------------------------------------------------------------------

    def configure(self, config):
        self.config = config
        import logging

        level = getattr(logging, config.get("loggingLevel") or "INFO", logging.INFO)
        root = logging.getLogger()
        root.setLevel(level)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s|%(levelname)s|%(name)s|%(message)s"))
        root.addHandler(handler)

        from azureml_user.parallel_run import _context

        _context.configure(config)

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
        self.send({"t": "ready", "initMs": (time.perf_counter() - t0) * 1000.0})

    # -- run ----------------------------------------------------------------------------------

    def run(self, batch, table):
        cpu0 = time.process_time()
        items = batch.get("items", 0)
        try:
            data = build_input(batch, table)
        except Exception as exc:
            info = error_info(exc)
            info["type"] = "InputReadError"
            info["message"] = "cannot read mini-batch %s: %s: %s" % (batch["id"], type(exc).__name__, exc)
            return self.finish(batch, items, False, info, 0.0, cpu0)
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
            return self.finish(batch, items, False, error_info(exc), time.perf_counter() - t0, cpu0)
        run_s = time.perf_counter() - t0

        if not (isinstance(result, (list, tuple)) or _is_dataframe(result)):
            info = {
                "type": "ReturnValueError",
                "message": NONE_RESULT_MESSAGE.format(type=type(result).__name__),
            }
            return self.finish(batch, items, False, info, run_s, cpu0)
        count = len(result)
        reply = {"itemsSucceeded": min(count, items)}
        if count > items:
            reply["warning"] = (
                "run() returned %d elements for mini-batch %s of %d items: all were written, %d counted as "
                "successes" % (count, batch["id"], items, items)
            )
        if self.config.get("outputAction") == "append_row":
            try:
                reply["lines"] = result_lines(result, bool(self.config.get("dataframeHeader")))
            except Exception as exc:
                return self.finish(batch, items, False, error_info(exc), run_s, cpu0)
        return self.finish(batch, items, True, reply, run_s, cpu0)

    def finish(self, batch, items, ok, payload, run_s, cpu0):
        message = {
            "t": "done" if ok else "failed",
            "id": batch["id"],
            "itemsTotal": items,
            "runMs": run_s * 1000.0,
            "cpuMs": (time.process_time() - cpu0) * 1000.0,
        }
        if ok:
            message.update(payload)
        else:
            message["error"] = payload
        self.send(message)

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

    def serve(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return  # the worker went away
            request = _DECODER.decode(line.decode("utf-8"))
            kind = request["t"]
            if kind == "run":
                self.run(request["batch"], request.get("table"))
            elif kind == "init":
                self.init(request["config"])
            elif kind == "shutdown":
                self.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                self.send({"t": "bye"})
                return


def main():
    path = os.environ.pop(CONTROL_ENV, None)
    if not path:
        sys.stderr.write("prs_driver: %s is not set; this file is started by a Parallel Run Studio worker\n" % CONTROL_ENV)
        return 2
    _setup_stderr(path)
    faulthandler.enable(file=sys.stderr, all_threads=True)
    threading.Thread(target=_watch_parent, name="prs-parent-watch", daemon=True).start()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.sendall(b"C")
    Driver(conn).serve()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # A normal exit: the user's atexit handlers run; closing fd 2 lets the forwarder reach EOF.
    sys.exit(code)
