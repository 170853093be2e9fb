"""The one version string of kgalign.

``pyproject.toml`` reads it (scikit-build-core's regex metadata provider), CMake passes it to
the C++ core (``kgalign._core.__version__``) and ``kgalign.__version__`` imports it.
"""

__version__ = "0.1.0"
