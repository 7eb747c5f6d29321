"""Model.get_model_path(name) resolves through the job spec's `models` map."""

from azureml_user.parallel_run import _context

__all__ = ["Model"]


class ModelNotFoundError(Exception):
    pass


class Model(object):
    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        models = _context.config.get("models") or {}
        if model_name in models:
            return models[model_name]
        configured = ", ".join(sorted(models)) if models else "none"
        raise ModelNotFoundError(
            "Model.get_model_path(%r): no model of that name in the job spec's `models` "
            "(configured: %s). Add `models: {%s: <path to the model file or folder>}` to the spec."
            % (model_name, configured, model_name)
        )

    def __init__(self, workspace=None, name=None, version=None, **kwargs):
        self.name = name
        self.version = version

    @property
    def path(self):
        return Model.get_model_path(self.name)

    def download(self, target_dir=".", exist_ok=False, **kwargs):
        """Models are local here: return their path instead of copying."""
        return Model.get_model_path(self.name)
