"""The worker's configuration, set by the driver before the entry script is imported."""

import os

config = {}


def configure(values):
    config.clear()
    config.update(values)
    models = values.get("models") or {}
    # Azure ML v2 scripts find their single model through AZUREML_MODEL_DIR: a folder.
    # A model that is one file: its folder (the leader may have set the file itself).
    if len(models) == 1:
        (path,) = models.values()
        if os.environ.get("AZUREML_MODEL_DIR") in (None, "", path):
            os.environ["AZUREML_MODEL_DIR"] = path if os.path.isdir(path) else os.path.dirname(path)


def output_dir():
    """The run's outputs/ folder; outside a run, ./outputs (where Azure ML uploads a job's outputs from)."""
    return config.get("outputDir") or os.path.join(os.getcwd(), "outputs")
