"""`from mlflow.models.signature import infer_signature`."""

from . import ModelSignature, infer_signature

__all__ = ["infer_signature", "ModelSignature"]
