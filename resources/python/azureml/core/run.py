"""`Run.get_context()`: an offline run, as the SDK gives outside Azure ML.

What it logs is recorded in the run's metrics (run.json's summary.logged_metrics: see
prs_metrics.py); files it uploads go into the run's outputs/ folder; models it registers go into
the local model registry (prs_model_registry.py).
"""

import os
import shutil
import uuid

import prs_metrics
import prs_model_registry as _registry

__all__ = ["Run"]


class _LocalWorkspace(object):
    """run.experiment.workspace: there is no cloud workspace; this one names the machine."""

    name = "local"
    subscription_id = None
    resource_group = None
    location = "local"

    def __repr__(self):
        return "Workspace(local)"


class _OfflineExperiment(object):
    def __init__(self, name):
        self.name = name
        self.workspace = _LocalWorkspace()

    def __repr__(self):
        return "Experiment(%s)" % self.name


def _outputs_dir():
    from azureml_user.parallel_run import _context

    return _context.output_dir()


def _artifact_path(name):
    """Where an uploaded artifact lands: outputs/<name> ("outputs/x" and "x" are the same file)."""
    parts = [p for p in str(name).replace("\\", "/").split("/") if p not in ("", ".")]
    if parts and parts[0] == "outputs":
        parts = parts[1:]
    if not parts or ".." in parts:
        raise ValueError("artifact name %r: expected a relative path inside the run's outputs (no ..)" % (name,))
    return os.path.join(_outputs_dir(), *parts)


class _OfflineRun(object):
    def __init__(self, parent=None, name=None):
        self.id = "OfflineRun_%s" % uuid.uuid4()
        self.name = name
        self.parent = parent
        self.experiment = parent.experiment if parent else _OfflineExperiment(os.environ.get("PRS_JOB_NAME", "offline"))
        self._status = "Running"
        self._metrics = {}
        self._tags = {}
        self._properties = {}
        # A child's metrics are kept apart by its name: <child>/<metric>.
        self._prefix = (parent._prefix if parent else "") + ("%s/" % name if parent and name else "")

    # -- metrics --------------------------------------------------------------------------------

    def _record(self, name, value):
        self._metrics.setdefault(name, []).append(value)
        prs_metrics.record("metric", self._prefix + name, value)

    def log(self, name, value, description="", step=None):
        self._record(name, value)

    def log_list(self, name, value, description=""):
        self._record(name, list(value))

    def log_row(self, name, description=None, **kwargs):
        self._record(name, dict(kwargs))

    def log_table(self, name, value, description=""):
        self._record(name, dict(value))

    def log_image(self, name, path=None, plot=None, description=""):
        if path is not None:
            self.upload_file(os.path.basename(str(path)), path)
            self._record(name, "outputs/%s" % os.path.basename(str(path)))

    def get_metrics(self, name=None, recursive=False, **kwargs):
        shown = {k: (v[0] if len(v) == 1 else list(v)) for k, v in self._metrics.items()}
        return {name: shown[name]} if name is not None and name in shown else ({} if name else shown)

    # -- files ----------------------------------------------------------------------------------

    def upload_file(self, name, path_or_stream, datastore_name=None):
        target = _artifact_path(name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if hasattr(path_or_stream, "read"):
            with open(target, "wb") as f:
                shutil.copyfileobj(path_or_stream, f)
        else:
            shutil.copyfile(str(path_or_stream), target)
        return target

    def upload_files(self, names, paths, return_artifacts=False, timeout_seconds=None, datastore_name=None):
        return [self.upload_file(n, p) for n, p in zip(names, paths)]

    def upload_folder(self, name, path, datastore_name=None):
        target = _artifact_path(name)
        shutil.copytree(str(path), target, dirs_exist_ok=True)
        return target

    def get_file_names(self):
        base = _outputs_dir()
        names = []
        for folder, _dirs, files in os.walk(base):
            names.extend("outputs/" + os.path.relpath(os.path.join(folder, f), base).replace(os.sep, "/") for f in files)
        return sorted(names)

    def download_file(self, name, output_file_path=None, **kwargs):
        source = _artifact_path(name)
        if output_file_path:
            shutil.copyfile(source, output_file_path)
            return output_file_path
        return source

    # -- models ---------------------------------------------------------------------------------

    def register_model(self, model_name, model_path=None, tags=None, properties=None, description=None, **kwargs):
        """Copies the model into the local model registry. model_path is a path, or an artifact name (outputs/...)."""
        from .model import Model

        source = self._model_source(model_name, model_path)
        version, _ = _registry.register(model_name, source, tags, properties, description, run_id=self.id)
        return Model(self.experiment.workspace, name=model_name, version=version, tags=tags, properties=properties,
                     description=description)

    @staticmethod
    def _model_source(model_name, model_path):
        if model_path is None:
            raise ValueError("register_model(%r): model_path is missing (expected the model's file or folder)" % model_name)
        if os.path.isabs(str(model_path)) and os.path.exists(str(model_path)):
            return str(model_path)
        try:
            artifact = _artifact_path(model_path)
        except ValueError:
            artifact = None
        for candidate in (artifact, os.path.abspath(str(model_path))):
            if candidate and os.path.exists(candidate):
                return candidate
        raise _registry.ModelNotFoundError(
            "register_model(%r): model_path %r is neither an uploaded file (%s) nor a path from %s "
            "(expected the model's file or folder)" % (model_name, model_path, artifact, os.getcwd())
        )

    # -- status, tags, properties ----------------------------------------------------------------

    def get_status(self):
        return self._status

    def complete(self, _set_status=True):
        self._status = "Completed"

    def fail(self, error_details=None, error_code=None, _set_status=True):
        self._status = "Failed"
        if error_details is not None:
            self.tag("error", str(error_details))

    def cancel(self):
        self._status = "Canceled"

    def add_properties(self, properties):
        for key, value in dict(properties).items():
            self._properties[key] = value
            prs_metrics.record("property", self._prefix + key, value)

    def get_properties(self):
        return dict(self._properties)

    def tag(self, key, value=None):
        self._tags[key] = "" if value is None else value
        prs_metrics.record("tag", self._prefix + key, self._tags[key])

    def set_tags(self, tags):
        for key, value in dict(tags).items():
            self.tag(key, value)

    def get_tags(self):
        return dict(self._tags)

    def child_run(self, name=None, run_id=None, outputs=None):
        return _OfflineRun(parent=self, name=name or "child")

    def get_children(self, **kwargs):
        return iter(())

    def get_context(self, *args, **kwargs):
        return self

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type:
            self.fail()
        else:
            self.complete()
        return False

    def __repr__(self):
        return "Run(%s)" % self.id


_context_run = None


class Run(object):
    @staticmethod
    def get_context(allow_offline=True, **kwargs):
        """The same offline run for the whole process, as the SDK returns the same run."""
        global _context_run
        if _context_run is None:
            _context_run = _OfflineRun()
        return _context_run
