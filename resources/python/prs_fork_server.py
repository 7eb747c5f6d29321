"""Parallel Run Studio's fork server: one interpreter per run that imports the job's heavy modules
once, then forks each worker's driver from itself (issue 15).

A fresh interpreter per worker imports pandas, numpy, scikit-learn... again in every worker, and
on a machine with as many workers as cores that start-up is most of a short job (two workers
importing pandas and scikit-learn spend ~2 s of CPU before the first mini-batch; a
multiprocessing.Pool script spends it once and forks). Here the leader starts this file once; it
imports the modules below, says ready, and on each request forks a child that becomes exactly what
`python -u prs_driver.py` in a pseudo-terminal would have been: the worker's environment and
folder, the terminal the leader opened as its controlling terminal and stdin/stdout/stderr, a
session of its own, default signal handling, then prs_driver.main().

What is imported here, and only that, is shared: the entry script itself is never imported (its
module-level code runs in every worker, as in ParallelRunStep), and only modules known to be safe to
fork after importing are (PRELOADABLE: no threads that matter after fork, no GPU state). CUDA
frameworks (torch, tensorflow, jax) are never imported here: CUDA cannot be used in a forked child,
and CUDA_VISIBLE_DEVICES differs per worker.

Protocol: JSON lines. stdin (from the leader): {"t":"fork","id":N,"pts":path,"env":{...},"cwd":dir}.
stdout (to the leader): {"t":"ready","version":[3,11,2],"preloaded":[...]} once, then
{"t":"forked","id":N,"pid":P} | {"t":"fork-failed","id":N,"error":text} per request and
{"t":"exit","pid":P,"code":C,"signal":S} when a child ends. End of stdin: the leader is gone or done;
this process exits, and its children, whose parent it was, stop themselves (prs_driver._watch_parent).

Python 3.8+, standard library only (besides what it preloads).
"""

import ast
import gc
import json
import os
import select
import signal
import sys
import time
import warnings

# The driver itself (standard library only), and which packages may be imported here: see there.
import prs_driver
from prs_driver import PRELOADABLE

PRELOAD_ENV = "PRS_FORK_PRELOAD"
SCRIPT_ENV = "PRS_FORK_SCRIPT"


def script_imports(script):
    """The top-level packages an entry script imports at module level, read without running it."""
    try:
        with open(script, "rb") as f:
            tree = ast.parse(f.read(), script)
    except (OSError, SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
    return names


def _shadowed(name, folders):
    """A module of that name in the script's own folders would win in the worker: leave it to it."""
    for folder in folders:
        if os.path.exists(os.path.join(folder, name + ".py")) or os.path.isdir(os.path.join(folder, name)):
            return True
    return False


def preload(names, folders):
    """The modules imported. Each import's outcome is told at once (the interpreter check waits for
    pandas's, and the leader plans mini-batches meanwhile, while scikit-learn is still importing)."""
    done = []
    for name in dict.fromkeys(names):
        top = name.split(".")[0]
        if top not in PRELOADABLE or name in sys.modules or _shadowed(top, folders):
            continue
        try:
            __import__(name)
            done.append(name)
            _send({"t": "imported", "name": name, "error": None})
        except Exception as e:
            # A module that cannot be imported fails where it did before: in the worker. The
            # leader's interpreter check learns why from here instead of importing it again.
            _send({"t": "imported", "name": name, "error": "%s: %s" % (type(e).__name__, e)})
    return done


# The leader's end of the protocol: fd 1 as started, moved aside so that what an import prints
# (to fd 1, to sys.stdout) goes to stderr instead of into the protocol (see serve()).
_protocol = 1


def _capturing(fn):
    """fn()'s result, and what it wrote to fd 1 and 2 (an import's warning): each worker repeats
    it on its own stderr, where a fresh interpreter importing the module itself would have shown it."""
    if hasattr(os, "memfd_create"):
        out = os.fdopen(os.memfd_create("prs-preload-output"), "w+b")
    else:
        import tempfile  # 11 ms of imports, where memfd_create (Linux) is missing

        out = tempfile.TemporaryFile()
    saved = os.dup(2)
    with out:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            result = fn()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        return result, out.read()


def _send(message):
    os.write(_protocol, (json.dumps(message) + "\n").encode("utf-8"))


def _become_worker(request, leader_fds, said):
    """In the forked child: the interpreter `python -u prs_driver.py` in that terminal would be."""
    try:
        gc.enable()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        # Opened after setsid(): the session's controlling terminal, as a pty spawn makes it. The
        # inherited copy (in leader_fds) is closed only after, so the terminal's slave side is
        # never without an open descriptor: the leader reads a terminal without one as ended.
        tty = os.open(request["pts"], os.O_RDWR)
        for fd in leader_fds:
            os.close(fd)
        for fd in (0, 1, 2):
            os.dup2(tty, fd)
        if tty > 2:
            os.close(tty)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        if "numpy" in sys.modules:
            # numpy's global generator is not reseeded by fork (random's is): without this every
            # worker would draw the same numbers, where fresh interpreters each seed their own.
            sys.modules["numpy"].random.seed()
        _exit_quickly(prs_driver.main(said))
    except SystemExit:
        raise
    except BaseException as exc:  # before the driver runs: say why on the worker's terminal
        try:
            os.write(2, ("Parallel Run Studio: the forked worker could not start: %r\n" % (exc,)).encode())
        finally:
            os._exit(1)


def _exit_quickly(code):
    """Ends the worker as its interpreter's exit would, without tearing the modules down.

    Freeing every object one by one takes a forked child ~50 ms (it copies each shared page whose
    reference counts it touches on the way), a worker's whole stop. What an exit does that a script
    can count on is kept: non-daemon threads are waited for (while one runs, this is the normal
    exit), the atexit handlers run (logging's flush, weakref.finalize, multiprocessing's clean-up,
    the user's own), and every file still open is flushed, as freeing it would. What is skipped is
    what Python does not promise at exit: __del__ of objects still referenced.
    """
    import atexit
    import io
    import threading

    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    # Only what was made after the fork: the preloaded objects are frozen (gc.freeze), outside
    # get_objects(), and none of them is a file of the worker's.
    for obj in gc.get_objects():
        if isinstance(obj, io.IOBase):
            try:
                if not obj.closed:
                    obj.flush()
            except Exception:
                pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        if os.WIFSIGNALED(status):
            _send({"t": "exit", "pid": pid, "code": 0, "signal": os.WTERMSIG(status)})
        else:
            _send({"t": "exit", "pid": pid, "code": os.WEXITSTATUS(status), "signal": 0})


def serve():
    global _protocol
    _protocol = os.dup(1)
    os.dup2(2, 1)
    # Ctrl-C in the user's terminal reaches the whole process group: the leader decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Python 3.12+ warns about fork() in a process with threads; numpy's BLAS threads are those, and
    # forking after importing numpy is what multiprocessing users do every day.
    warnings.filterwarnings("ignore", message=".*fork\\(\\) may lead to deadlocks", category=DeprecationWarning)
    # No collections while importing, nor a full one before freezing (~40 ms with scikit-learn
    # loaded): the imports' few garbage cycles are frozen with the rest, and each child turns the
    # collector back on (the gc.freeze documentation's own recipe for fork servers).
    gc.disable()
    prs_driver.prefer_stdlib_distutils()
    script = os.environ.pop(SCRIPT_ENV, "")
    wanted = [n for n in os.environ.pop(PRELOAD_ENV, "").split(",") if n]
    folders = [os.getcwd(), os.path.dirname(script)] if script else [os.getcwd()]
    t0 = time.perf_counter()
    preloaded, said = _capturing(lambda: preload(wanted + (script_imports(script) if script else []), folders))
    preload_ms = (time.perf_counter() - t0) * 1000.0

    # What is loaded now lives as long as every child: out of the collector's sight, the children's
    # collections do not touch (and so copy) its pages.
    if hasattr(gc, "freeze"):
        gc.freeze()

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _send({"t": "ready", "version": list(sys.version_info[:3]), "preloaded": preloaded, "ms": preload_ms})
    children = set()
    inbox = b""
    while True:
        try:
            readable, _, _ = select.select([0, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(children)
        if 0 not in readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return  # the leader is done, or gone
        inbox += chunk
        *lines, inbox = inbox.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            request = json.loads(line)
            try:
                # Held open across the fork: the terminal never lacks an open slave side (a master
                # whose slaves are all closed reads as ended) between the leader closing its own
                # and the child opening it.
                held = os.open(request["pts"], os.O_RDWR | os.O_NOCTTY)
            except OSError as exc:
                _send({"t": "fork-failed", "id": request["id"], "error": str(exc)})
                continue
            try:
                pid = os.fork()
            except OSError as exc:
                os.close(held)
                _send({"t": "fork-failed", "id": request["id"], "error": str(exc)})
                continue
            if pid == 0:
                _become_worker(request, [0, _protocol, wake_r, wake_w, held], said)
            os.close(held)
            children.add(pid)
            _send({"t": "forked", "id": request["id"], "pid": pid})
            # A child that ended before its pid was known here is reaped now, in order.
            _reap(children)


if __name__ == "__main__":
    serve()
