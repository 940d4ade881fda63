"""`drmodels sample`: write a genuine DeepRacer model folder in pure Python (no TensorFlow)."""

from drmodels.sample.model import SampleError, SampleOptions, SampleResult, write_sample

__all__ = ["SampleError", "SampleOptions", "SampleResult", "write_sample"]
