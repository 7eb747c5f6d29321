"""The scoring Azure ML generates for an MLflow model deployed to a batch endpoint without a scoring
script (docs/job-spec.md, "Batch deployments"): each CSV or Parquet file of a mini-batch is read,
the model predicts, and each prediction is one line of the output file: the row's index in its
file, the prediction, and the file's name. Azure's own notebooks read it back with
pd.read_csv("predictions.csv", names=["row", "prediction", "file"]).

The sklearn flavor is loaded here directly (pickle, or cloudpickle when installed), so this works
without mlflow; another flavor needs an importable mlflow."""

import csv
import io
import json
import os
import pickle

import pandas as pd

# The MLflow signature's column types, as pandas dtypes.
_DTYPES = {
    "long": "int64",
    "integer": "int32",
    "double": "float64",
    "float": "float32",
    "boolean": "bool",
    "string": "object",
}


def _model_folder(root):
    """The folder with the MLmodel file: AZUREML_MODEL_DIR itself or a folder in it."""
    if os.path.isfile(os.path.join(root, "MLmodel")):
        return root
    for entry in sorted(os.listdir(root)):
        candidate = os.path.join(root, entry)
        if os.path.isfile(os.path.join(candidate, "MLmodel")):
            return candidate
    raise RuntimeError(
        "AZUREML_MODEL_DIR %s: no MLmodel file in it or in a folder of it (expected an MLflow model)" % root
    )


def _read_mlmodel(folder):
    file = os.path.join(folder, "MLmodel")
    try:
        import yaml
    except ImportError:
        raise RuntimeError(
            "%s: reading it needs PyYAML, which this interpreter lacks (expected pip install pyyaml)" % file
        ) from None
    with open(file, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _load_sklearn(folder, flavor):
    file = os.path.join(folder, flavor["pickled_model"])
    with open(file, "rb") as fh:
        try:
            if flavor.get("serialization_format", "cloudpickle") == "cloudpickle":
                try:
                    import cloudpickle

                    return cloudpickle.load(fh)
                except ImportError:
                    pass  # a plain pickle unless it holds functions defined in __main__
            return pickle.load(fh)
        except Exception as e:
            try:
                import sklearn

                installed = sklearn.__version__
            except ImportError:
                installed = "none"
            raise RuntimeError(
                "%s: the model cannot be unpickled (%s: %s); MLmodel says scikit-learn %s, this interpreter has %s"
                % (file, type(e).__name__, e, flavor.get("sklearn_version", "?"), installed)
            ) from None


def init():
    global _predict, _inputs
    folder = _model_folder(os.environ["AZUREML_MODEL_DIR"])
    meta = _read_mlmodel(folder)
    flavors = meta.get("flavors") or {}
    if (flavors.get("sklearn") or {}).get("pickled_model"):
        _predict = _load_sklearn(folder, flavors["sklearn"]).predict
    else:
        try:
            import mlflow.pyfunc
        except ImportError:
            raise RuntimeError(
                "%s: flavors %s; without a sklearn flavor the model needs mlflow, which this interpreter lacks (expected pip install mlflow)"
                % (os.path.join(folder, "MLmodel"), ", ".join(flavors) or "none")
            ) from None
        _predict = mlflow.pyfunc.load_model(folder).predict
    inputs = (meta.get("signature") or {}).get("inputs")
    _inputs = [c for c in json.loads(inputs) if c.get("name")] if inputs else []


def _read(file):
    ext = os.path.splitext(file)[1].lower()
    if ext == ".csv":
        return pd.read_csv(file)
    if ext == ".parquet":
        return pd.read_parquet(file)
    raise ValueError(
        "%s: not a CSV or Parquet file (expected .csv or .parquet files: the scoring generated for MLflow models reads only those)"
        % file
    )


def _conform(data, file):
    """The signature's columns, in its order and types: what MLflow's schema enforcement does."""
    if not _inputs:
        return data
    names = [c["name"] for c in _inputs]
    missing = [n for n in names if n not in data.columns]
    if missing:
        raise ValueError(
            "%s: no column %s (expected the model signature's columns: %s)"
            % (file, ", ".join(missing), ", ".join(names))
        )
    data = data[names]
    for c in _inputs:
        dtype = _DTYPES.get(c.get("type"))
        if dtype and str(data[c["name"]].dtype) != dtype:
            try:
                data = data.astype({c["name"]: dtype})
            except (TypeError, ValueError) as e:
                raise ValueError(
                    "%s: column %s cannot be read as %s (%s) (expected the model signature's type)"
                    % (file, c["name"], c["type"], e)
                ) from None
    return data


def _values(pred):
    """Each prediction's values: one per row of a 1-D result, a row's values of a 2-D one."""
    if isinstance(pred, pd.DataFrame):
        return [list(row) for row in pred.itertuples(index=False)]
    if isinstance(pred, pd.Series):
        pred = pred.to_numpy()
    rows = pred.tolist() if hasattr(pred, "tolist") else list(pred)
    return [row if isinstance(row, list) else [row] for row in rows]


def _line(values):
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()


def run(mini_batch):
    lines = []
    for file in mini_batch:
        name = os.path.basename(file)
        data = _conform(_read(file), file)
        for row, values in enumerate(_values(_predict(data))):
            lines.append(_line([row, *values, name]))
    return lines
