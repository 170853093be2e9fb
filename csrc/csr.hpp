// Shared types of the kgalign matching core: CSR views, dense views and the declarations of
// the solvers (one .cpp file per solver); status codes in status.hpp. Pure C++17, no Python.
#pragma once
#include <cstdint>
#include <vector>

#include "status.hpp"

namespace kgalign {

// Read-only CSR view: rows = entities of KG1, columns = candidates in KG2.
// indptr has n_rows + 1 entries; indices are int32 column ids; data are similarities.
struct CsrView {
    int64_t n_rows = 0;
    int64_t n_cols = 0;
    const int64_t* indptr = nullptr;
    const int32_t* indices = nullptr;
    const double* data = nullptr;
    int64_t nnz() const { return indptr[n_rows]; }
};

// Read-only row-major dense view.
template <class T>
struct DenseView {
    int64_t n_rows = 0;
    int64_t n_cols = 0;
    const T* data = nullptr;
    const T* row(int64_t i) const { return data + i * n_cols; }
};

// ---------------------------------------------------------------- lap_dense.cpp
// Minimum-cost assignment on a dense row-major cost matrix (Jonker-Volgenant initialisation
// + shortest augmenting paths). +inf entries are forbidden. `unmatched` (nullable, n_rows
// finite costs) is the cost of leaving each row unmatched. Without it, the result is a
// maximum-cardinality matching of minimum cost. col4row receives n_rows column ids (-1 =
// unmatched).
// maximize: solve on -cost (forbidden = -inf). On INVALID_VALUE, bad_index receives the flat
// index of the first NaN or wrong-signed infinity. max_work > 0 caps the cells examined by
// augmenting row reduction and the shortest augmenting path searches: past it the solver returns
// ITERATION_LIMIT with the partial matching built so far in col4row (a valid matching).
template <class T>
Status lap_dense(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize, const double* unmatched,
              int64_t* col4row, int64_t* bad_index, int64_t max_work = -1);

// ---------------------------------------------------------------- auction.cpp
struct AuctionOptions {
    double eps_final = 1e-6;     // final epsilon (in the units of the values given)
    double eps_factor = 20.0;    // epsilon division factor between scaling phases
    double eps_start = -1.0;     // <= 0: (max - min) / 20 of the similarities
    int64_t max_bids = -1;       // <= 0: no cap
    int n_threads = 1;           // bidding threads (OpenMP, Jacobi bids); 1 = Gauss-Seidel
};

struct AuctionOutput {
    std::vector<int32_t> col4row;   // -1 = unmatched
    std::vector<double> prices;     // final column prices (n_cols)
    double primal = 0.0;            // sum of matched values + sum of unmatched values of free rows
    double dual = 0.0;              // sum_j p_j + sum_i max(t_i, max_j s_ij - p_j) >= optimum
    int64_t n_bids = 0;
    int64_t n_reverse = 0;
    int n_phases = 0;
    double eps_used = 0.0;
};

// Maximise sum s_ij over a (partial) assignment; row i may stay unmatched at value t[i].
// INVALID_ARGUMENT without t; ITERATION_LIMIT when opt.max_bids is reached.
Status auction_csr(const CsrView& S, const double* t, const AuctionOptions& opt, AuctionOutput& out);

// ---------------------------------------------------------------- refine.cpp
// Re-exchange improvement (UDCEA): applies improving swaps, moves to free columns and, when t
// is given, abstentions/entries, until none is left. col4row is updated in place.
// n_moves receives the number of moves applied. INVALID_MATCHING (where = the row) when
// col4row is out of range, uses a column twice or pairs a row with a pair not stored in S.
Status refine_csr(const CsrView& S, const double* t, int32_t* col4row, int64_t max_rounds,
                  double tol, int64_t* n_moves, int64_t* where);
template <class T>
Status refine_dense(const DenseView<T>& S, const double* t, int32_t* col4row,
                    int64_t max_rounds, double tol, int64_t* n_moves, int64_t* where);

// Ranked alternatives: out is n_rows x k (row-major), -1 padded. INVALID_MATCHING (where = the
// row) when col4row is out of range or uses a column twice.
Status rank_alternatives_csr(const CsrView& S, const int32_t* col4row, int64_t k, int64_t* out,
                             int64_t* where);
template <class T>
Status rank_alternatives_dense(const DenseView<T>& S, const int32_t* col4row, int64_t k,
                               int64_t* out, int64_t* where);

// ---------------------------------------------------------------- topk.cpp
// Exact top-k per row of a dense row-major block (n_rows x n_cols): cols/vals receive the
// n_rows x k entries that are first in the order (value desc, column asc), listed in that
// order, or by column ascending when by_column (CSR order). 0 <= k <= n_cols.
// n_threads <= 0: OpenMP default (1 thread without OpenMP). On a NaN returns INVALID_VALUE
// with bad_index = flat index of the first NaN; INVALID_ARGUMENT when k is out of range.
template <class T>
Status topk_rows(const T* data, int64_t n_rows, int64_t n_cols, int64_t k, int32_t* cols, T* vals,
              int n_threads, bool by_column, int64_t* bad_index);
// Column-wise running top-k over row blocks (b x n_cols, row-major) of one matrix, rows
// row_offset.. of it: per column a buffer of cap > k entries (vals/rows at j * cap), its fill
// size[j] and threshold thr[j] (start with size 0 and thr -inf). Blocks must come in row
// order. topk_cols_finish writes each column's k best (value desc, row asc) to
// rows_out/vals_out (n_cols x k); INVALID_ARGUMENT when a column holds fewer than k.
template <class T>
Status topk_cols_update(const T* block, int64_t b, int64_t n_cols, int64_t row_offset, int64_t k,
                        int64_t cap, T* vals, int64_t* rows, int64_t* size, T* thr, int n_threads,
                        int64_t* bad_index);
template <class T>
Status topk_cols_finish(int64_t n_cols, int64_t k, int64_t cap, T* vals, int64_t* rows,
                        const int64_t* size, int64_t* rows_out, T* vals_out);

// ---------------------------------------------------------------- baselines.cpp
Status greedy_csr(const CsrView& S, int32_t* col4row);
template <class T>
Status greedy_dense(const DenseView<T>& S, int32_t* col4row);
Status mutual_nearest_csr(const CsrView& S, int32_t* col4row);
template <class T>
Status mutual_nearest_dense(const DenseView<T>& S, int32_t* col4row);

}  // namespace kgalign
