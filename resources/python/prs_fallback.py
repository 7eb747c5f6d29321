"""Compatibility packages that give way to the real ones.

resources/python is first on the interpreter's path, so that `azureml` resolves models through the
job spec (its local meaning requires ours). The packages named here only stand in for what is not
installed: when the interpreter has the real one anywhere else on its path (site-packages, a venv,
PYTHONPATH), that one is imported, as if ours came after site-packages.
"""

import importlib.machinery
import os
import sys

# Top-level names only: their submodules follow the package that was chosen.
PACKAGES = ("mlflow",)
_HERE = os.path.dirname(os.path.abspath(__file__))


class _PreferInstalled(object):
    """A finder consulted first: a real package elsewhere on sys.path wins over ours."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if path is not None or fullname not in PACKAGES:
            return None
        elsewhere = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
        # None: not installed, and the normal search finds ours.
        return importlib.machinery.PathFinder.find_spec(fullname, elsewhere)


def install():
    if not any(isinstance(f, _PreferInstalled) for f in sys.meta_path):
        sys.meta_path.insert(0, _PreferInstalled())


def hand_over(name):
    """Called by a stand-in as it is imported without the finder (a shell, a pipeline's command with
    resources/python on PYTHONPATH): when the real package is installed, it takes the stand-in's
    place in sys.modules and the importer gets it. Returns True when it did."""
    spec = _PreferInstalled.find_spec(name)
    if spec is None or spec.loader is None:
        return False
    import importlib.util

    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return True
