// The one pybind11 binding file of kgalign._core. Solvers live in their own pure C++ files.
#include <pybind11/pybind11.h>

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    m.doc() = "kgalign C++ matching core";
    m.attr("__version__") = "0.1.0";
}
