"""`Run.get_context()`: an offline run, as the SDK gives outside Azure ML. Metrics go to stdout."""

__all__ = ["Run"]


class _OfflineRun(object):
    id = "OfflineRun"
    experiment = None
    parent = None

    def log(self, name, value, description=""):
        print("metric %s: %s" % (name, value))

    def log_list(self, name, value, description=""):
        print("metric %s: %s" % (name, list(value)))

    def log_row(self, name, description=None, **kwargs):
        print("metric %s: %s" % (name, kwargs))

    def get_context(self):
        return self

    def __repr__(self):
        return "Run(OfflineRun)"


class Run(object):
    @staticmethod
    def get_context(allow_offline=True, **kwargs):
        return _OfflineRun()
