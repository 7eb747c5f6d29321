"""mlflow.exceptions.MlflowException, as scripts catch it."""


class MlflowException(Exception):
    def __init__(self, message, error_code="INVALID_PARAMETER_VALUE", **kwargs):
        super(MlflowException, self).__init__(message)
        self.message = message
        self.error_code = error_code
