"""Parallel Run Studio's stand-in for Azure ML's `mltable` package, for scripts run locally.

Used only when the real `mltable` is not installed: resources/python comes before site-packages on
PYTHONPATH (so that `azureml` has its local meaning), so this package first looks for another
`mltable` on the rest of sys.path and, when there is one, loads that in its place. An installed
package always wins.

Locally: `mltable.load(folder).to_pandas_dataframe()` reads the folder's MLTable file as the job's
`type: mltable` input does (docs/job-spec.md, "MLTable"); `from_delimited_files`,
`from_parquet_files`, `from_json_lines_files`, `from_paths`, the column steps and `save` write one.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _real_spec():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rest = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != here]
    return importlib.machinery.PathFinder.find_spec(__name__, rest)


_spec = _real_spec()
if _spec is not None and _spec.loader is not None:
    # The import system returns sys.modules[__name__] once this file has run: the real package.
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[__name__] = _module
    _spec.loader.exec_module(_module)
else:
    from ._local import (  # noqa: F401
        MLTable,
        MLTableError,
        MLTableHeaders,
        from_delimited_files,
        from_json_lines_files,
        from_parquet_files,
        from_paths,
        load,
    )
