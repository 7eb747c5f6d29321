"""Parallel Run Studio's stand-in for the parts of MLflow that batch-scoring scripts use.

Used only when the real `mlflow` is not installed: an installed one takes its place as it is
imported (prs_fallback.py). Models are folders with an
`MLmodel` file (mlflow.sklearn, mlflow.pyfunc); tracking calls record into the run's metrics
(run.json's summary.logged_metrics) instead of a tracking server.
"""

import prs_fallback

if not prs_fallback.hand_over(__name__):
    # mlflow.sklearn and mlflow.pyfunc after a bare `import mlflow`, as in MLflow.
    from . import exceptions, models, pyfunc, sklearn  # noqa: F401
    from ._tracking import *  # noqa: F401,F403
    from ._tracking import __all__ as _names
    from .exceptions import MlflowException  # noqa: F401

    __all__ = _names + ["sklearn", "pyfunc", "models", "exceptions", "MlflowException"]

    __version__ = "0.0.0+parallel-run-studio"
