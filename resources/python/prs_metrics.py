"""The run's metrics channel: what mlflow.log_metric and Run.log record, one JSON object a line.

The leader gives each worker a file of its own (PRS_METRICS_FILE, under logs/user/metrics/) and
gathers them all into run.json's summary.logged_metrics when the run ends. A file rather than the
control socket: a subprocess of the entry script (it inherits the variable) can record too, and a worker
killed mid-mini-batch keeps what it had recorded. Outside a run (no variable) a value is printed,
as the SDK's offline run does.
"""

import json
import os
import time

ENV = "PRS_METRICS_FILE"


def record(kind, name, value, step=None):
    """kind: metric | param | tag | property. Never fails the caller's script."""
    path = os.environ.get(ENV)
    if not path:
        print("%s %s: %s" % (kind, name, value))
        return
    entry = {"kind": kind, "name": str(name), "value": _plain(value), "time": time.time()}
    if step is not None:
        entry["step"] = step
    line = json.dumps(entry, default=str) + "\n"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # One write of one line with O_APPEND: lines of several processes never interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as exc:
        print("could not record %s %s in %s: %s" % (kind, name, path, exc))


def _plain(value):
    """numpy scalars and arrays as the numbers and lists JSON has."""
    if hasattr(value, "tolist"):
        try:
            return value.tolist()
        except Exception:
            pass
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
