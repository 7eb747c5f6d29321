"""`from azureml_user.parallel_run import EntryScript`, as on an Azure ML ParallelRunStep worker."""

import logging
import os

from . import _context

__all__ = ["EntryScript"]

_FORMAT = "%(asctime)s|%(levelname)s|%(process)d|%(thread)d|%(name)s|%(message)s"


class EntryScript(object):
    """A singleton: every EntryScript() in a worker returns the same instance (and logger)."""

    _instance = None

    def __new__(cls, *args, **kwargs):
        if cls._instance is None:
            instance = super(EntryScript, cls).__new__(cls)
            instance._logger = None
            cls._instance = instance
        return cls._instance

    def __init__(self, *args, **kwargs):
        pass

    @property
    def config(self):
        return dict(_context.config)

    @property
    def agent_name(self):
        """The process name, processNNN."""
        return _context.config.get("processName", "process000")

    @property
    def node_id(self):
        return _context.config.get("nodeId", "0")

    @property
    def log_dir(self):
        """logs/user/entry_script_log/<node_id>/ of the run."""
        return _context.config.get("logDir") or os.getcwd()

    @property
    def output_dir(self):
        """The run's outputs/ folder: files written here are part of the run's results."""
        return _context.config.get("outputDir") or os.getcwd()

    @property
    def working_dir(self):
        return os.getcwd()

    @property
    def logger(self):
        """Writes logs/user/entry_script_log/<node_id>/<process_name>.log.txt at the job's logging_level."""
        if self._logger is None:
            self._logger = _make_logger()
        return self._logger


def _make_logger():
    cfg = _context.config
    logger = logging.getLogger("azureml_user.parallel_run.entry_script")
    logger.setLevel(getattr(logging, cfg.get("loggingLevel") or "INFO", logging.INFO))
    # Its own file only; the root logger (stdout) would repeat every line in the stdout log.
    logger.propagate = False
    path = cfg.get("entryLogFile")
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    return logger
