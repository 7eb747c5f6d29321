"""Parallel Run Studio's stand-in for the parts of the azureml SDK that entry scripts use.

Ahead of a real azureml on the path on purpose: Model.get_model_path must resolve through the job
spec's `models`. What it does not offer (azureml._restclient, azureml.core.Workspace, ...) fails to
import with one line naming it.
"""

import sys

# What this stand-in has: azureml.core's Model and Run.
OFFERED = "azureml.core's Run and Model (Run.get_context(), Model.get_model_path)"


def no_local_equivalent(name, statement=None):
    return ModuleNotFoundError(
        "%s: %s has no local equivalent in Parallel Run Studio, which offers %s"
        % (statement or "import %s" % name, name, OFFERED),
        name=name,
    )


class _NoLocalEquivalent(object):
    """Last on sys.meta_path: an azureml submodule nobody found is one without a local meaning."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname.startswith("azureml."):
            raise no_local_equivalent(fullname)
        return None


if not any(isinstance(f, _NoLocalEquivalent) for f in sys.meta_path):
    sys.meta_path.append(_NoLocalEquivalent())
