"""`from azureml.core import Model` (and `azureml.core.model.Model`), resolved locally."""

from .model import Model
from .run import Run

__all__ = ["Model", "Run"]
