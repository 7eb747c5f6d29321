"""`from azureml.core import Model, Run` (and azureml.core.model / .run), resolved locally.

Other azureml.core names (Workspace, Datastore, Dataset, ...) are Azure ML's cloud: importing one
fails with one line saying it has no local equivalent.
"""

from .model import Model
from .run import Run

__all__ = ["Model", "Run"]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from azureml import no_local_equivalent

    raise no_local_equivalent("azureml.core.%s" % name, "from azureml.core import %s" % name)
