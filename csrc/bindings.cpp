// The one pybind11 binding file of kgalign._core. Solvers live in their own pure C++ files;
// inputs are validated in Python (kgalign.matching) and every solve releases the GIL.
//
// One return convention: every entry point returns the tuple (status, where, result):
//   status  int, a kgalign::Status code (status.hpp; 0 = OK),
//   where   int, where the status applies (a flat value index, a row or an argument
//           position, see status.hpp), -1 when it does not apply,
//   result  the entry point's own result (None when it only fills the `out` arrays given).
// Entry points never raise for bad values or inconsistent arguments; kgalign/matching/_status.py
// is the one place that turns a status into an exception.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>

#include "csr.hpp"
#include "status.hpp"

#ifndef KGALIGN_VERSION
#error "KGALIGN_VERSION must be defined by the build (CMakeLists.txt reads kgalign/_version.py)"
#endif

namespace py = pybind11;
using namespace kgalign;

namespace {

using F64 = py::array_t<double, py::array::c_style>;
using F32 = py::array_t<float, py::array::c_style>;
using I64 = py::array_t<int64_t, py::array::c_style>;
using I32 = py::array_t<int32_t, py::array::c_style>;

// An argument inconsistent with the others, at 0-based position `position` of the call.
struct BadArgument {
    int64_t position;
};

void require(bool ok, int64_t position) {
    if (!ok) throw BadArgument{position};
}

py::tuple reply(Status st, int64_t where = -1, py::object result = py::none()) {
    return py::make_tuple(code(st), where, std::move(result));
}

// Runs body (which returns a reply); a BadArgument becomes the INVALID_ARGUMENT reply.
template <class F>
py::tuple guarded(F&& body) {
    try {
        return body();
    } catch (const BadArgument& e) {
        return reply(Status::INVALID_ARGUMENT, e.position);
    }
}

// CSR parts at argument positions first..first+4 (n_rows, n_cols, indptr, indices, data).
CsrView make_csr(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices, const F64& data,
                 int64_t first) {
    require(n_rows >= 0, first);
    require(n_cols >= 0, first + 1);
    require(indptr.ndim() == 1 && indptr.size() == n_rows + 1, first + 2);
    CsrView S;
    S.n_rows = n_rows;
    S.n_cols = n_cols;
    S.indptr = indptr.data();
    S.indices = indices.data();
    S.data = data.data();
    require(S.nnz() >= 0 && indices.size() >= S.nnz(), first + 3);
    require(data.size() >= S.nnz(), first + 4);
    return S;
}

template <class T>
DenseView<T> make_dense(const py::array_t<T, py::array::c_style>& a, int64_t position) {
    require(a.ndim() == 2, position);
    DenseView<T> D;
    D.n_rows = a.shape(0);
    D.n_cols = a.shape(1);
    D.data = a.data();
    return D;
}

// An optional per-row float64 array (None -> nullptr); keep holds the converted array.
const double* opt_rows(const py::object& t, int64_t n, F64& keep, int64_t position) {
    if (t.is_none()) return nullptr;
    keep = t.cast<F64>();
    require(keep.ndim() == 1 && keep.size() == n, position);
    return keep.data();
}

template <class T>
py::tuple lap_dense_py(const py::array_t<T, py::array::c_style>& cost, bool maximize, const py::object& unmatched,
                       I64 out, int64_t max_work) {
    return guarded([&] {
        const DenseView<T> C = make_dense<T>(cost, 0);
        require(out.size() == C.n_rows, 3);
        F64 keep;
        const double* um = opt_rows(unmatched, C.n_rows, keep, 2);
        int64_t* o = out.mutable_data();
        int64_t bad = -1;
        Status st;
        {
            py::gil_scoped_release release;
            st = lap_dense<T>(C.data, C.n_rows, C.n_cols, maximize, um, o, &bad, max_work);
        }
        return reply(st, bad);
    });
}

py::tuple auction_py(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices, const F64& data,
                     const py::object& t, double eps_final, double eps_factor, double eps_start, int64_t max_bids,
                     int n_threads) {
    return guarded([&] {
        const CsrView S = make_csr(n_rows, n_cols, indptr, indices, data, 0);
        F64 keep;
        const double* tp = opt_rows(t, n_rows, keep, 5);
        AuctionOptions opt;
        opt.eps_final = eps_final;
        opt.eps_factor = eps_factor;
        opt.eps_start = eps_start;
        opt.max_bids = max_bids;
        opt.n_threads = n_threads;
        AuctionOutput res;
        Status st;
        {
            py::gil_scoped_release release;
            st = auction_csr(S, tp, opt, res);
        }
        if (st != Status::OK) return reply(st);
        I32 cols(static_cast<py::ssize_t>(n_rows));
        std::copy(res.col4row.begin(), res.col4row.end(), cols.mutable_data());
        F64 prices(static_cast<py::ssize_t>(n_cols));
        std::copy(res.prices.begin(), res.prices.end(), prices.mutable_data());
        py::dict info;
        info["col4row"] = cols;
        info["prices"] = prices;
        info["primal"] = res.primal;
        info["dual"] = res.dual;
        info["n_bids"] = res.n_bids;
        info["n_reverse"] = res.n_reverse;
        info["n_phases"] = res.n_phases;
        info["eps"] = res.eps_used;
        return reply(st, -1, info);
    });
}

py::tuple refine_csr_py(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices, const F64& data,
                        const py::object& t, I32 col4row, int64_t max_rounds, double tol) {
    return guarded([&] {
        const CsrView S = make_csr(n_rows, n_cols, indptr, indices, data, 0);
        require(col4row.size() == n_rows, 6);
        F64 keep;
        const double* tp = opt_rows(t, n_rows, keep, 5);
        int32_t* c = col4row.mutable_data();
        int64_t moves = 0, where = -1;
        Status st;
        {
            py::gil_scoped_release release;
            st = refine_csr(S, tp, c, max_rounds, tol, &moves, &where);
        }
        return reply(st, where, py::int_(moves));
    });
}

template <class T>
py::tuple refine_dense_py(const py::array_t<T, py::array::c_style>& a, const py::object& t, I32 col4row,
                          int64_t max_rounds, double tol) {
    return guarded([&] {
        const DenseView<T> D = make_dense<T>(a, 0);
        require(col4row.size() == D.n_rows, 2);
        F64 keep;
        const double* tp = opt_rows(t, D.n_rows, keep, 1);
        int32_t* c = col4row.mutable_data();
        int64_t moves = 0, where = -1;
        Status st;
        {
            py::gil_scoped_release release;
            st = refine_dense<T>(D, tp, c, max_rounds, tol, &moves, &where);
        }
        return reply(st, where, py::int_(moves));
    });
}

py::tuple rank_csr_py(int64_t n_rows, int64_t n_cols, const I64& indptr, const I32& indices, const F64& data,
                      const I32& col4row, int64_t k, I64 out) {
    return guarded([&] {
        const CsrView S = make_csr(n_rows, n_cols, indptr, indices, data, 0);
        require(col4row.size() == n_rows, 5);
        require(k >= 0, 6);
        require(out.size() == n_rows * k, 7);
        const int32_t* c = col4row.data();
        int64_t* o = out.mutable_data();
        int64_t where = -1;
        Status st;
        {
            py::gil_scoped_release release;
            st = rank_alternatives_csr(S, c, k, o, &where);
        }
        return reply(st, where);
    });
}

template <class T>
py::tuple rank_dense_py(const py::array_t<T, py::array::c_style>& a, const I32& col4row, int64_t k, I64 out) {
    return guarded([&] {
        const DenseView<T> D = make_dense<T>(a, 0);
        require(col4row.size() == D.n_rows, 1);
        require(k >= 0, 2);
        require(out.size() == D.n_rows * k, 3);
        const int32_t* c = col4row.data();
        int64_t* o = out.mutable_data();
        int64_t where = -1;
        Status st;
        {
            py::gil_scoped_release release;
            st = rank_alternatives_dense<T>(D, c, k, o, &where);
        }
        return reply(st, where);
    });
}

bool which_greedy(const std::string& which) {
    require(which == "greedy" || which == "mutual", 0);
    return which == "greedy";
}

py::tuple baseline_csr_py(const std::string& which, int64_t n_rows, int64_t n_cols, const I64& indptr,
                          const I32& indices, const F64& data, I32 out) {
    return guarded([&] {
        const bool greedy = which_greedy(which);
        const CsrView S = make_csr(n_rows, n_cols, indptr, indices, data, 1);
        require(out.size() == n_rows, 6);
        int32_t* o = out.mutable_data();
        Status st;
        {
            py::gil_scoped_release release;
            st = greedy ? greedy_csr(S, o) : mutual_nearest_csr(S, o);
        }
        return reply(st);
    });
}

template <class T>
py::tuple baseline_dense_py(const std::string& which, const py::array_t<T, py::array::c_style>& a, I32 out) {
    return guarded([&] {
        const bool greedy = which_greedy(which);
        const DenseView<T> D = make_dense<T>(a, 1);
        require(out.size() == D.n_rows, 2);
        int32_t* o = out.mutable_data();
        Status st;
        {
            py::gil_scoped_release release;
            st = greedy ? greedy_dense<T>(D, o) : mutual_nearest_dense<T>(D, o);
        }
        return reply(st);
    });
}

template <class T>
py::tuple topk_rows_py(const py::array_t<T, py::array::c_style>& a, int64_t k, I32 cols,
                       py::array_t<T, py::array::c_style> vals, int n_threads, bool by_column) {
    return guarded([&] {
        const DenseView<T> D = make_dense<T>(a, 0);
        require(k >= 0 && k <= D.n_cols, 1);
        require(cols.size() == D.n_rows * k, 2);
        require(vals.size() == D.n_rows * k, 3);
        int32_t* c = cols.mutable_data();
        T* v = vals.mutable_data();
        int64_t bad = -1;
        Status st;
        {
            py::gil_scoped_release release;
            st = topk_rows<T>(D.data, D.n_rows, D.n_cols, k, c, v, n_threads, by_column, &bad);
        }
        return reply(st, bad);
    });
}

template <class T>
py::tuple topk_cols_update_py(const py::array_t<T, py::array::c_style>& block, int64_t row_offset, int64_t k,
                              py::array_t<T, py::array::c_style> vals, I64 rows, I64 size,
                              py::array_t<T, py::array::c_style> thr, int n_threads) {
    return guarded([&] {
        const DenseView<T> D = make_dense<T>(block, 0);
        const int64_t n = D.n_cols;
        require(size.size() == n, 5);
        require(thr.size() == n, 6);
        require(n == 0 || vals.size() % n == 0, 3);
        const int64_t cap = n ? vals.size() / n : 0;
        require(rows.size() == vals.size(), 4);
        int64_t bad = -1;
        Status st;
        T* v = vals.mutable_data();
        int64_t* r = rows.mutable_data();
        int64_t* sz = size.mutable_data();
        T* th = thr.mutable_data();
        {
            py::gil_scoped_release release;
            st = topk_cols_update<T>(D.data, D.n_rows, n, row_offset, k, cap, v, r, sz, th, n_threads, &bad);
        }
        return reply(st, bad);
    });
}

template <class T>
py::tuple topk_cols_finish_py(int64_t k, py::array_t<T, py::array::c_style> vals, I64 rows, const I64& size,
                              I64 rows_out, py::array_t<T, py::array::c_style> vals_out) {
    return guarded([&] {
        const int64_t n = size.size();
        require(n == 0 || vals.size() % n == 0, 2);
        require(rows.size() == vals.size(), 3);
        require(rows_out.size() == n * k && vals_out.size() == n * k, 5);
        const int64_t cap = n ? vals.size() / n : 0;
        Status st;
        T* v = vals.mutable_data();
        int64_t* r = rows.mutable_data();
        const int64_t* sz = size.data();
        int64_t* ro = rows_out.mutable_data();
        T* vo = vals_out.mutable_data();
        {
            py::gil_scoped_release release;
            st = topk_cols_finish<T>(n, k, cap, v, r, sz, ro, vo);
        }
        return reply(st);
    });
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() =
        "kgalign C++ matching core (use kgalign.matching, which validates input). Every function "
        "returns (status, where, result); kgalign.matching._status maps status to exceptions.";
    m.attr("__version__") = KGALIGN_VERSION;
#ifdef KGALIGN_HAVE_OPENMP
    m.attr("has_openmp") = true;
#else
    m.attr("has_openmp") = false;
#endif
    py::dict codes;
    codes["OK"] = code(Status::OK);
    codes["INFEASIBLE"] = code(Status::INFEASIBLE);
    codes["INVALID_VALUE"] = code(Status::INVALID_VALUE);
    codes["INVALID_MATCHING"] = code(Status::INVALID_MATCHING);
    codes["INVALID_ARGUMENT"] = code(Status::INVALID_ARGUMENT);
    codes["ITERATION_LIMIT"] = code(Status::ITERATION_LIMIT);
    m.attr("STATUS") = codes;

    m.def("lap_dense_f64", &lap_dense_py<double>, py::arg("cost"), py::arg("maximize"), py::arg("unmatched"), py::arg("out"),
          py::arg("max_work") = -1);
    m.def("lap_dense_f32", &lap_dense_py<float>, py::arg("cost"), py::arg("maximize"), py::arg("unmatched"), py::arg("out"),
          py::arg("max_work") = -1);
    m.def("auction_csr", &auction_py, py::arg("n_rows"), py::arg("n_cols"), py::arg("indptr"), py::arg("indices"),
          py::arg("data"), py::arg("unmatched"), py::arg("eps_final"), py::arg("eps_factor"), py::arg("eps_start"),
          py::arg("max_bids"), py::arg("n_threads"));
    m.def("refine_csr", &refine_csr_py, py::arg("n_rows"), py::arg("n_cols"), py::arg("indptr"), py::arg("indices"),
          py::arg("data"), py::arg("unmatched"), py::arg("col4row"), py::arg("max_rounds"), py::arg("tol"));
    m.def("refine_dense_f64", &refine_dense_py<double>, py::arg("S"), py::arg("unmatched"), py::arg("col4row"),
          py::arg("max_rounds"), py::arg("tol"));
    m.def("refine_dense_f32", &refine_dense_py<float>, py::arg("S"), py::arg("unmatched"), py::arg("col4row"),
          py::arg("max_rounds"), py::arg("tol"));
    m.def("rank_csr", &rank_csr_py, py::arg("n_rows"), py::arg("n_cols"), py::arg("indptr"), py::arg("indices"),
          py::arg("data"), py::arg("col4row"), py::arg("k"), py::arg("out"));
    m.def("rank_dense_f64", &rank_dense_py<double>, py::arg("S"), py::arg("col4row"), py::arg("k"), py::arg("out"));
    m.def("rank_dense_f32", &rank_dense_py<float>, py::arg("S"), py::arg("col4row"), py::arg("k"), py::arg("out"));
    m.def("topk_rows_f32", &topk_rows_py<float>, py::arg("a"), py::arg("k"), py::arg("cols"), py::arg("vals"), py::arg("n_threads"), py::arg("by_column") = false);
    m.def("topk_rows_f64", &topk_rows_py<double>, py::arg("a"), py::arg("k"), py::arg("cols"), py::arg("vals"), py::arg("n_threads"), py::arg("by_column") = false);
    m.def("topk_cols_update_f32", &topk_cols_update_py<float>, py::arg("block"), py::arg("row_offset"), py::arg("k"),
          py::arg("vals"), py::arg("rows"), py::arg("size"), py::arg("thr"), py::arg("n_threads"));
    m.def("topk_cols_update_f64", &topk_cols_update_py<double>, py::arg("block"), py::arg("row_offset"), py::arg("k"),
          py::arg("vals"), py::arg("rows"), py::arg("size"), py::arg("thr"), py::arg("n_threads"));
    m.def("topk_cols_finish_f32", &topk_cols_finish_py<float>, py::arg("k"), py::arg("vals"), py::arg("rows"),
          py::arg("size"), py::arg("rows_out"), py::arg("vals_out"));
    m.def("topk_cols_finish_f64", &topk_cols_finish_py<double>, py::arg("k"), py::arg("vals"), py::arg("rows"),
          py::arg("size"), py::arg("rows_out"), py::arg("vals_out"));
    m.def("baseline_csr", &baseline_csr_py, py::arg("which"), py::arg("n_rows"), py::arg("n_cols"), py::arg("indptr"),
          py::arg("indices"), py::arg("data"), py::arg("out"));
    m.def("baseline_dense_f64", &baseline_dense_py<double>, py::arg("which"), py::arg("S"), py::arg("out"));
    m.def("baseline_dense_f32", &baseline_dense_py<float>, py::arg("which"), py::arg("S"), py::arg("out"));
}
