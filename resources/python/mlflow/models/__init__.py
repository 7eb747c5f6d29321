"""mlflow.models: infer_signature and ModelSignature, as training scripts call them before save_model.

The signature is kept on the object only: the stand-in's MLmodel does not record it.
"""

__all__ = ["infer_signature", "ModelSignature"]


class ModelSignature(object):
    def __init__(self, inputs=None, outputs=None, params=None):
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self):
        return {"inputs": self.inputs, "outputs": self.outputs}

    def __repr__(self):
        return "ModelSignature(inputs=%r, outputs=%r)" % (self.inputs, self.outputs)


def _describe(data):
    columns = getattr(data, "columns", None)
    if columns is not None:
        return [{"name": str(c), "type": str(t)} for c, t in zip(columns, data.dtypes)]
    shape = getattr(data, "shape", None)
    return {"shape": list(shape)} if shape is not None else None


def infer_signature(model_input=None, model_output=None, params=None):
    return ModelSignature(_describe(model_input), _describe(model_output), params)
