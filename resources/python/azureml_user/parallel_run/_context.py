"""The worker's configuration, set by the driver before the entry script is imported."""

import os

config = {}


def configure(values):
    config.clear()
    config.update(values)
    models = values.get("models") or {}
    # Azure ML v2 scripts find their single model through AZUREML_MODEL_DIR: a folder.
    if len(models) == 1 and "AZUREML_MODEL_DIR" not in os.environ:
        (path,) = models.values()
        os.environ["AZUREML_MODEL_DIR"] = path if os.path.isdir(path) else os.path.dirname(path)
