"""Model.get_model_path(name) resolves through the job spec's `models` map, then the local model registry."""

import os

from azureml_user.parallel_run import _context

import prs_model_registry as _registry
from prs_model_registry import ModelNotFoundError

__all__ = ["Model", "ModelNotFoundError"]


class Model(object):
    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        models = _context.config.get("models") or {}
        if model_name in models:
            return models[model_name]
        if _registry.versions(model_name):
            return _registry.find(model_name, version, caller="Model.get_model_path(%r)" % model_name)
        configured = ", ".join(sorted(models)) if models else "none"
        raise ModelNotFoundError(
            "Model.get_model_path(%r): no model of that name in the job spec's `models` (configured: %s) "
            "nor in the local model registry %s. Add `models: {%s: <path to the model file or folder>}` to the spec."
            % (model_name, configured, _registry.root(), model_name)
        )

    @staticmethod
    def register(workspace=None, model_path=None, model_name=None, tags=None, properties=None, description=None, **kwargs):
        """Registers a file or folder in the local model registry (the workspace is not used)."""
        version, _ = _registry.register(model_name, os.path.abspath(model_path), tags, properties, description)
        return Model(workspace, name=model_name, version=version, tags=tags, properties=properties, description=description)

    def __init__(self, workspace=None, name=None, version=None, tags=None, properties=None, description=None, **kwargs):
        self.workspace = workspace
        self.name = name
        self.version = version
        self.tags = dict(tags or {})
        self.properties = dict(properties or {})
        self.description = description
        self.id = "%s:%s" % (name, version) if version is not None else name

    @property
    def path(self):
        return Model.get_model_path(self.name, self.version)

    def download(self, target_dir=".", exist_ok=False, **kwargs):
        """Models are local here: return their path instead of copying."""
        return Model.get_model_path(self.name, self.version)

    def __repr__(self):
        return "Model(name=%r, version=%r)" % (self.name, self.version)
