"""mlflow.pyfunc.load_model(path).predict(df) over a model folder's python_function flavor."""

import importlib
import os

from .. import _model
from ..exceptions import MlflowException

__all__ = ["load_model", "PyFuncModel"]

FLAVOR_NAME = "python_function"
# The loader modules with a local meaning: ours, when the real mlflow is not installed.
_LOCAL_LOADERS = ("mlflow.sklearn",)


class PyFuncModel(object):
    def __init__(self, model_impl, metadata, folder, predict_fn="predict"):
        self._model_impl = model_impl
        self.metadata = metadata
        self.model_path = folder
        self._predict_fn = predict_fn

    def predict(self, data, params=None):
        # MLmodel's predict_fn (predict, predict_proba, ...), as MLflow's sklearn wrapper calls it.
        return getattr(self._model_impl, self._predict_fn)(data)

    def unwrap_python_model(self):
        return self._model_impl

    def __repr__(self):
        return "mlflow.pyfunc.loaded_model: %s (%s)" % (self.model_path, type(self._model_impl).__name__)


def load_model(model_uri, suppress_warnings=False, dst_path=None, **kwargs):
    caller = "mlflow.pyfunc.load_model"
    folder = _model.local_path(model_uri, caller)
    doc = _model.read_mlmodel(folder, caller)
    conf = _model.flavor(doc, folder, FLAVOR_NAME, caller, "")
    loader = conf.get("loader_module")
    if loader not in _LOCAL_LOADERS:
        raise MlflowException(
            "%s(%r): the python_function flavor's loader_module %s has no local equivalent (this stand-in "
            "for mlflow loads %s; install mlflow in the job's python to load this model)"
            % (caller, str(model_uri), loader, ", ".join(_LOCAL_LOADERS))
        )
    data = conf.get("model_path") or conf.get("data")
    impl = importlib.import_module(loader)._load_pyfunc(os.path.join(folder, data) if data else folder)
    return PyFuncModel(impl, doc, folder, conf.get("predict_fn") or "predict")


# MLflow's older name, still in published scoring scripts (batch endpoints' batch_driver.py).
load = load_model
