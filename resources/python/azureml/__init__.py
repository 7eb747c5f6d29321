"""Parallel Run Studio's stand-in for the parts of the azureml SDK that entry scripts use."""
