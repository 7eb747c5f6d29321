"""mlflow.sklearn: load_model and save_model of MLflow's sklearn flavor (pickle or cloudpickle)."""

import datetime
import os
import pickle
import sys
import uuid

from .. import _model
from ..exceptions import MlflowException

__all__ = ["load_model", "save_model", "log_model", "autolog"]

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = [SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_CLOUDPICKLE]


def load_model(model_uri, dst_path=None):
    caller = "mlflow.sklearn.load_model(%r)" % str(model_uri)
    folder = _model.local_path(model_uri, "mlflow.sklearn.load_model")
    doc = _model.read_mlmodel(folder, "mlflow.sklearn.load_model")
    conf = _model.flavor(
        doc, folder, FLAVOR_NAME, "mlflow.sklearn.load_model", "; load it with mlflow.pyfunc.load_model"
    )
    return _load(folder, conf, doc, caller)


def _load(folder, conf, doc, caller):
    fmt = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    if fmt not in SUPPORTED_SERIALIZATION_FORMATS:
        raise MlflowException(
            "%s: serialization_format %r in MLmodel is not one of %s" % (caller, fmt, ", ".join(SUPPORTED_SERIALIZATION_FORMATS))
        )
    path = os.path.join(folder, conf.get("pickled_model", "model.pkl"))
    return _model.unpickle(path, fmt, conf, doc, caller, "scikit-learn", "sklearn_version")


def _load_pyfunc(path):
    """python_function's loader_module entry: `path` is the model file or its folder."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    doc = _model.read_mlmodel(folder, "mlflow.pyfunc.load_model")
    conf = doc["flavors"].get(FLAVOR_NAME) or {"pickled_model": os.path.basename(path)}
    return _load(folder, conf, doc, "mlflow.pyfunc.load_model(%r)" % folder)


def save_model(
    sk_model,
    path,
    conda_env=None,
    code_paths=None,
    mlflow_model=None,
    serialization_format=None,
    signature=None,
    input_example=None,
    pip_requirements=None,
    extra_pip_requirements=None,
    pyfunc_predict_fn="predict",
    metadata=None,
    **kwargs
):
    """Writes an MLflow model folder: MLmodel (sklearn and python_function flavors) and model.pkl.

    The default format is MLflow's (cloudpickle) where cloudpickle is installed, else pickle; the
    MLmodel file says which, so either loads again here and in MLflow.
    """
    if serialization_format is None:
        serialization_format = SERIALIZATION_FORMAT_CLOUDPICKLE if _has_cloudpickle() else SERIALIZATION_FORMAT_PICKLE
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise MlflowException(
            "mlflow.sklearn.save_model: serialization_format %r is not one of %s"
            % (serialization_format, ", ".join(SUPPORTED_SERIALIZATION_FORMATS))
        )
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE and not _has_cloudpickle():
        raise MlflowException(
            "mlflow.sklearn.save_model: serialization_format='cloudpickle' needs the cloudpickle package, which %s "
            "lacks (pip install cloudpickle, or use serialization_format='pickle')" % sys.executable
        )
    path = os.path.abspath(str(path))
    # As MLflow: an existing empty folder is fine, one with files is not overwritten.
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise MlflowException("mlflow.sklearn.save_model: path %r already exists and is not empty" % path)
    os.makedirs(path, exist_ok=True)
    model_file = "model.pkl"
    with open(os.path.join(path, model_file), "wb") as f:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            cloudpickle.dump(sk_model, f)
        else:
            pickle.dump(sk_model, f, protocol=pickle.DEFAULT_PROTOCOL)
    sklearn_version = _model.installed_version("sklearn") or "unknown"
    python_version = "%d.%d.%d" % sys.version_info[:3]
    doc = {
        "flavors": {
            "python_function": {
                "loader_module": "mlflow.sklearn",
                "model_path": model_file,
                "predict_fn": pyfunc_predict_fn,
                "python_version": python_version,
            },
            FLAVOR_NAME: {
                "pickled_model": model_file,
                "serialization_format": serialization_format,
                "sklearn_version": sklearn_version,
            },
        },
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    if metadata:
        doc["metadata"] = dict(metadata)
    _model.write_mlmodel(path, doc)
    with open(os.path.join(path, "requirements.txt"), "w") as f:
        f.write("scikit-learn==%s\n" % sklearn_version)
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            f.write("cloudpickle\n")


def log_model(sk_model, artifact_path, **kwargs):
    """Saves the model under the run's outputs/<artifact_path> (there is no artifact store here)."""
    from azureml_user.parallel_run import _context

    save_model(sk_model, os.path.join(_context.output_dir(), artifact_path), **kwargs)


def autolog(*args, **kwargs):
    return None


def _has_cloudpickle():
    try:
        import cloudpickle  # noqa: F401

        return True
    except ImportError:
        return False
