"""Compatibility packages that give way to the real ones.

resources/python is first on the interpreter's path, so that `azureml` resolves models through the
job spec (its local meaning requires ours). The stand-ins that only stand in for what is not
installed (mlflow) call hand_over() as they are imported: when the interpreter has the real package
anywhere else on its path (site-packages, a venv, PYTHONPATH), that one is imported in their place,
as if they came after site-packages.
"""

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def hand_over(name):
    """Loads the real `name` into sys.modules in place of the stand-in being imported; the import
    system then returns it (it reads sys.modules once the stand-in's file has run). True when it did."""
    elsewhere = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec(name, elsewhere)
    if spec is None or spec.loader is None:
        return False
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return True
