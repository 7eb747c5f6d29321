"""The stand-in's tracking, artifact and registry calls (mlflow.log_metric, ...), re-exported by mlflow."""

import os
import shutil
import time as _time
import uuid as _uuid

import prs_metrics as _metrics

__all__ = [
    "autolog",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "start_run",
    "end_run",
    "active_run",
    "log_artifact",
    "log_artifacts",
    "log_text",
    "log_dict",
    "log_figure",
    "register_model",
]


def autolog(*args, **kwargs):
    """Nothing is patched here: what the script logs itself is recorded; autolog adds nothing."""
    return None


def log_metric(key, value, step=None, timestamp=None, **kwargs):
    _metrics.record("metric", key, value, step)


def log_metrics(metrics, step=None, **kwargs):
    for key, value in dict(metrics).items():
        _metrics.record("metric", key, value, step)


def log_param(key, value, **kwargs):
    _metrics.record("param", key, value)
    return value


def log_params(params, **kwargs):
    for key, value in dict(params).items():
        _metrics.record("param", key, value)


def set_tag(key, value, **kwargs):
    _metrics.record("tag", key, value)


def set_tags(tags, **kwargs):
    for key, value in dict(tags).items():
        _metrics.record("tag", key, value)


class _RunInfo(object):
    def __init__(self, run_id, run_name):
        self.run_id = run_id
        self.run_name = run_name
        self.status = "RUNNING"
        self.start_time = int(_time.time() * 1000)
        self.end_time = None


class ActiveRun(object):
    """What start_run returns; a context manager that ends the run."""

    def __init__(self, run_id, run_name):
        self.info = _RunInfo(run_id, run_name)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        end_run("FAILED" if exc_type else "FINISHED")
        return False


_active = []


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, tags=None, **kwargs):
    run = ActiveRun(run_id or _uuid.uuid4().hex, run_name)
    _active.append(run)
    if tags:
        set_tags(tags)
    return run


def end_run(status="FINISHED"):
    if _active:
        run = _active.pop()
        run.info.status = status
        run.info.end_time = int(_time.time() * 1000)


def active_run():
    return _active[-1] if _active else None


def set_experiment(experiment_name=None, experiment_id=None):
    return None


def set_tracking_uri(uri):
    return None


def get_tracking_uri():
    return "local: the run's metrics (run.json)"


# -- artifacts: files of the run, in its outputs/ folder (there is no artifact store here) -------


def _artifact_dir(artifact_path):
    from azureml_user.parallel_run import _context

    target = os.path.join(_context.output_dir(), artifact_path or "")
    os.makedirs(target, exist_ok=True)
    return target


def log_artifact(local_path, artifact_path=None):
    shutil.copy2(local_path, _artifact_dir(artifact_path))


def log_artifacts(local_dir, artifact_path=None):
    shutil.copytree(local_dir, _artifact_dir(artifact_path), dirs_exist_ok=True)


def log_text(text, artifact_file):
    folder = _artifact_dir(os.path.dirname(artifact_file))
    with open(os.path.join(folder, os.path.basename(artifact_file)), "w", encoding="utf-8") as f:
        f.write(text)


def log_dict(dictionary, artifact_file):
    import json

    log_text(json.dumps(dictionary, indent=2, default=str), artifact_file)


def log_figure(figure, artifact_file, **kwargs):
    folder = _artifact_dir(os.path.dirname(artifact_file))
    figure.savefig(os.path.join(folder, os.path.basename(artifact_file)))


# -- the model registry: the local one (prs_model_registry.py) -----------------------------------


class ModelVersion(object):
    def __init__(self, name, version, source):
        self.name = name
        self.version = str(version)
        self.source = source

    def __repr__(self):
        return "<ModelVersion: name=%r, version=%s>" % (self.name, self.version)


def register_model(model_uri, name, tags=None, **kwargs):
    """Copies the model folder (a path, file:// or models:/ URI) into the local model registry."""
    import prs_model_registry

    from . import _model

    source = _model.local_path(model_uri, "mlflow.register_model")
    version, _ = prs_model_registry.register(name, source, tags=tags)
    return ModelVersion(name, version, source)
