// The one pybind11 binding file of kgalign._core. Solvers live in their own pure C++ files;
// inputs are validated in Python (kgalign.matching) and every solve releases the GIL.
// Functions return a status code (0 = OK) that kgalign.matching turns into exceptions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "csr.hpp"

namespace py = pybind11;
using namespace kgalign;

namespace {

using F64 = py::array_t<double, py::array::c_style>;
using F32 = py::array_t<float, py::array::c_style>;
using I64 = py::array_t<int64_t, py::array::c_style>;
using I32 = py::array_t<int32_t, py::array::c_style>;

CsrView make_csr(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices,
                 const F64& data) {
    if (indptr.size() != n_rows + 1) throw std::invalid_argument("indptr must have n_rows + 1 entries");
    CsrView S;
    S.n_rows = n_rows;
    S.n_cols = n_cols;
    S.indptr = indptr.data();
    S.indices = indices.data();
    S.data = data.data();
    if (indices.size() < S.nnz() || data.size() < S.nnz())
        throw std::invalid_argument("indices/data shorter than indptr[-1]");
    return S;
}

template <class T>
DenseView<T> make_dense(const py::array_t<T, py::array::c_style>& a) {
    if (a.ndim() != 2) throw std::invalid_argument("expected a 2-D array");
    DenseView<T> D;
    D.n_rows = a.shape(0);
    D.n_cols = a.shape(1);
    D.data = a.data();
    return D;
}

template <class T>
py::tuple lap_dense_py(const py::array_t<T, py::array::c_style>& cost, bool maximize,
                       py::object unmatched, I64 out) {
    if (cost.ndim() != 2) throw std::invalid_argument("cost must be 2-D");
    const int64_t nr = cost.shape(0), nc = cost.shape(1);
    if (out.size() != nr) throw std::invalid_argument("out must have n_rows entries");
    F64 um;
    const double* um_ptr = nullptr;
    if (!unmatched.is_none()) {
        um = unmatched.cast<F64>();
        if (um.size() != nr) throw std::invalid_argument("unmatched must have n_rows entries");
        um_ptr = um.data();
    }
    const T* c = cost.data();
    int64_t* o = out.mutable_data();
    int64_t bad = -1;
    int st;
    {
        py::gil_scoped_release release;
        st = lap_dense<T>(c, nr, nc, maximize, um_ptr, o, &bad);
    }
    return py::make_tuple(st, bad);
}

const double* opt_ptr(py::object t, int64_t n, F64& keep) {
    if (t.is_none()) return nullptr;
    keep = t.cast<F64>();
    if (keep.size() != n) throw std::invalid_argument("per-row values must have n_rows entries");
    return keep.data();
}

py::tuple auction_py(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices,
                     const F64& data, py::object t, double eps_final, double eps_factor,
                     double eps_start, int64_t max_bids, int n_threads) {
    CsrView S = make_csr(n_rows, n_cols, indptr, indices, data);
    F64 tk;
    const double* tp = opt_ptr(t, n_rows, tk);
    AuctionOptions opt;
    opt.eps_final = eps_final;
    opt.eps_factor = eps_factor;
    opt.eps_start = eps_start;
    opt.max_bids = max_bids;
    opt.n_threads = n_threads;
    AuctionOutput res;
    int st;
    {
        py::gil_scoped_release release;
        st = auction_csr(S, tp, opt, res);
    }
    I32 cols(n_rows);
    std::copy(res.col4row.begin(), res.col4row.end(), cols.mutable_data());
    F64 prices(n_cols);
    std::copy(res.prices.begin(), res.prices.end(), prices.mutable_data());
    py::dict info;
    info["n_bids"] = res.n_bids;
    info["n_reverse"] = res.n_reverse;
    info["n_phases"] = res.n_phases;
    info["eps"] = res.eps_used;
    return py::make_tuple(st, cols, prices, res.primal, res.dual, info);
}

int64_t refine_csr_py(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices,
                      const F64& data, py::object t, I32 col4row, int64_t max_rounds, double tol) {
    CsrView S = make_csr(n_rows, n_cols, indptr, indices, data);
    if (col4row.size() != n_rows) throw std::invalid_argument("col4row must have n_rows entries");
    F64 tk;
    const double* tp = opt_ptr(t, n_rows, tk);
    int32_t* c = col4row.mutable_data();
    py::gil_scoped_release release;
    return refine_csr(S, tp, c, max_rounds, tol);
}

template <class T>
int64_t refine_dense_py(const py::array_t<T, py::array::c_style>& a, py::object t, I32 col4row,
                        int64_t max_rounds, double tol) {
    DenseView<T> D = make_dense<T>(a);
    if (col4row.size() != D.n_rows) throw std::invalid_argument("col4row must have n_rows entries");
    F64 tk;
    const double* tp = opt_ptr(t, D.n_rows, tk);
    int32_t* c = col4row.mutable_data();
    py::gil_scoped_release release;
    return refine_dense<T>(D, tp, c, max_rounds, tol);
}

int rank_csr_py(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices,
                const F64& data, const I32& col4row, int64_t k, I64 out) {
    CsrView S = make_csr(n_rows, n_cols, indptr, indices, data);
    if (col4row.size() != n_rows || out.size() != n_rows * k)
        throw std::invalid_argument("bad output or col4row size");
    const int32_t* c = col4row.data();
    int64_t* o = out.mutable_data();
    py::gil_scoped_release release;
    return rank_alternatives_csr(S, c, k, o);
}

template <class T>
int rank_dense_py(const py::array_t<T, py::array::c_style>& a, const I32& col4row, int64_t k,
                  I64 out) {
    DenseView<T> D = make_dense<T>(a);
    if (col4row.size() != D.n_rows || out.size() != D.n_rows * k)
        throw std::invalid_argument("bad output or col4row size");
    const int32_t* c = col4row.data();
    int64_t* o = out.mutable_data();
    py::gil_scoped_release release;
    return rank_alternatives_dense<T>(D, c, k, o);
}

int baseline_csr_py(const std::string& which, int64_t n_rows, int64_t n_cols, const I64& indptr,
                    const I32& indices, const F64& data, I32 out) {
    CsrView S = make_csr(n_rows, n_cols, indptr, indices, data);
    if (out.size() != n_rows) throw std::invalid_argument("out must have n_rows entries");
    int32_t* o = out.mutable_data();
    bool greedy = which == "greedy";
    py::gil_scoped_release release;
    return greedy ? greedy_csr(S, o) : mutual_nearest_csr(S, o);
}

template <class T>
int baseline_dense_py(const std::string& which, const py::array_t<T, py::array::c_style>& a,
                      I32 out) {
    DenseView<T> D = make_dense<T>(a);
    if (out.size() != D.n_rows) throw std::invalid_argument("out must have n_rows entries");
    int32_t* o = out.mutable_data();
    bool greedy = which == "greedy";
    py::gil_scoped_release release;
    return greedy ? greedy_dense<T>(D, o) : mutual_nearest_dense<T>(D, o);
}

template <class T>
py::tuple topk_rows_py(const py::array_t<T, py::array::c_style>& a, int64_t k, I32 cols,
                       py::array_t<T, py::array::c_style> vals, int n_threads, bool by_column) {
    if (a.ndim() != 2) throw std::invalid_argument("expected a 2-D array");
    const int64_t nr = a.shape(0), nc = a.shape(1);
    if (k < 0 || k > nc) throw std::invalid_argument("k must be in [0, n_cols]");
    if (cols.size() != nr * k || vals.size() != nr * k)
        throw std::invalid_argument("cols/vals must have n_rows * k entries");
    const T* d = a.data();
    int32_t* c = cols.mutable_data();
    T* v = vals.mutable_data();
    int64_t bad = -1;
    int st;
    {
        py::gil_scoped_release release;
        st = topk_rows<T>(d, nr, nc, k, c, v, n_threads, by_column, &bad);
    }
    return py::make_tuple(st, bad);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "kgalign C++ matching core (use kgalign.matching, which validates input)";
    m.attr("__version__") = "0.1.0";
#ifdef KGALIGN_HAVE_OPENMP
    m.attr("has_openmp") = true;
#else
    m.attr("has_openmp") = false;
#endif
    m.def("lap_dense_f64", &lap_dense_py<double>, py::arg("cost"), py::arg("maximize"), py::arg("unmatched"), py::arg("out"));
    m.def("lap_dense_f32", &lap_dense_py<float>, py::arg("cost"), py::arg("maximize"), py::arg("unmatched"), py::arg("out"));
    m.def("auction_csr", &auction_py);
    m.def("refine_csr", &refine_csr_py);
    m.def("refine_dense_f64", &refine_dense_py<double>);
    m.def("refine_dense_f32", &refine_dense_py<float>);
    m.def("rank_csr", &rank_csr_py);
    m.def("rank_dense_f64", &rank_dense_py<double>);
    m.def("rank_dense_f32", &rank_dense_py<float>);
    m.def("topk_rows_f32", &topk_rows_py<float>, py::arg("a"), py::arg("k"), py::arg("cols"), py::arg("vals"), py::arg("n_threads"), py::arg("by_column") = false);
    m.def("topk_rows_f64", &topk_rows_py<double>, py::arg("a"), py::arg("k"), py::arg("cols"), py::arg("vals"), py::arg("n_threads"), py::arg("by_column") = false);
    m.def("baseline_csr", &baseline_csr_py);
    m.def("baseline_dense_f64", &baseline_dense_py<double>);
    m.def("baseline_dense_f32", &baseline_dense_py<float>);
}
