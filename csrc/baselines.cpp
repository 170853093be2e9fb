// Baselines for comparison with the optimal assignment:
//  * greedy: repeatedly match the globally largest remaining similarity whose row and column
//    are both free (ties: smaller row, then smaller column);
//  * mutual nearest: keep (i, j) when j is the best column of row i and i the best row of
//    column j (ties: smaller index).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <queue>
#include <vector>

#include "csr.hpp"

namespace kgalign {

Status greedy_csr(const CsrView& S, int32_t* x) {
    const int64_t n = S.n_rows, nnz = S.nnz();
    std::vector<int64_t> order(nnz);
    std::vector<int32_t> row_of(nnz);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) row_of[k] = static_cast<int32_t>(i);
    for (int64_t k = 0; k < nnz; ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        if (S.data[a] != S.data[b]) return S.data[a] > S.data[b];
        if (row_of[a] != row_of[b]) return row_of[a] < row_of[b];
        return S.indices[a] < S.indices[b];
    });
    std::fill(x, x + n, -1);
    std::vector<char> taken(S.n_cols, 0);
    for (int64_t k : order) {
        const int32_t i = row_of[k], j = S.indices[k];
        if (x[i] >= 0 || taken[j]) continue;
        x[i] = j;
        taken[j] = 1;
    }
    return Status::OK;
}

template <class T>
Status greedy_dense(const DenseView<T>& S, int32_t* x) {
    // Lazy greedy: every row keeps a short sorted list of its best free columns; a max-heap
    // holds each row's current head. Popping a head whose column was taken advances the list.
    const int64_t n = S.n_rows, m = S.n_cols;
    std::fill(x, x + n, -1);
    if (n == 0 || m == 0) return Status::OK;
    const int64_t L = std::min<int64_t>(m, 16);
    std::vector<int32_t> lists(static_cast<size_t>(n * L));
    std::vector<int64_t> len(n, 0), pos(n, 0);
    std::vector<char> taken(m, 0);
    std::vector<int32_t> scratch(m);
    auto refill = [&](int64_t i) {
        const T* r = S.row(i);
        int64_t cnt = 0;
        for (int64_t j = 0; j < m; ++j)
            if (!taken[j]) scratch[cnt++] = static_cast<int32_t>(j);
        const int64_t take = std::min(L, cnt);
        auto cmp = [&](int32_t a, int32_t b) { return r[a] > r[b] || (r[a] == r[b] && a < b); };
        std::partial_sort(scratch.begin(), scratch.begin() + take, scratch.begin() + cnt, cmp);
        std::copy(scratch.begin(), scratch.begin() + take, lists.begin() + i * L);
        len[i] = take;
        pos[i] = 0;
    };
    struct Head { double v; int64_t i; int32_t j; };
    auto worse = [](const Head& a, const Head& b) {  // priority_queue: top = best
        if (a.v != b.v) return a.v < b.v;
        if (a.i != b.i) return a.i > b.i;
        return a.j > b.j;
    };
    std::priority_queue<Head, std::vector<Head>, decltype(worse)> heap(worse);
    for (int64_t i = 0; i < n; ++i) {
        refill(i);
        if (len[i] > 0) { int32_t j = lists[i * L]; heap.push({static_cast<double>(S.row(i)[j]), i, j}); }
    }
    int64_t free_cols = m;
    while (!heap.empty() && free_cols > 0) {
        Head h = heap.top();
        heap.pop();
        if (!taken[h.j]) {
            x[h.i] = h.j;
            taken[h.j] = 1;
            --free_cols;
            continue;
        }
        // advance row h.i to its next free column
        int64_t i = h.i;
        while (pos[i] < len[i] && taken[lists[i * L + pos[i]]]) ++pos[i];
        if (pos[i] >= len[i]) refill(i);
        if (len[i] > 0) { int32_t j = lists[i * L + pos[i]]; heap.push({static_cast<double>(S.row(i)[j]), i, j}); }
    }
    return Status::OK;
}

Status mutual_nearest_csr(const CsrView& S, int32_t* x) {
    const int64_t n = S.n_rows, m = S.n_cols;
    std::vector<int32_t> best_col(n, -1), best_row(m, -1);
    std::vector<double> row_v(n, -std::numeric_limits<double>::infinity()),
        col_v(m, -std::numeric_limits<double>::infinity());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
            const int32_t j = S.indices[k];
            const double v = S.data[k];
            if (v > row_v[i] || (v == row_v[i] && j < best_col[i])) { row_v[i] = v; best_col[i] = j; }
            if (v > col_v[j] || (v == col_v[j] && i < best_row[j])) { col_v[j] = v; best_row[j] = static_cast<int32_t>(i); }
        }
    for (int64_t i = 0; i < n; ++i)
        x[i] = (best_col[i] >= 0 && best_row[best_col[i]] == i) ? best_col[i] : -1;
    return Status::OK;
}

template <class T>
Status mutual_nearest_dense(const DenseView<T>& S, int32_t* x) {
    const int64_t n = S.n_rows, m = S.n_cols;
    std::vector<int32_t> best_col(n, -1), best_row(m, -1);
    std::vector<double> col_v(m, -std::numeric_limits<double>::infinity());
    for (int64_t i = 0; i < n; ++i) {
        const T* r = S.row(i);
        double rv = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < m; ++j) {
            const double v = static_cast<double>(r[j]);
            if (v > rv) { rv = v; best_col[i] = static_cast<int32_t>(j); }
            if (v > col_v[j]) { col_v[j] = v; best_row[j] = static_cast<int32_t>(i); }
        }
    }
    for (int64_t i = 0; i < n; ++i)
        x[i] = (best_col[i] >= 0 && best_row[best_col[i]] == i) ? best_col[i] : -1;
    return Status::OK;
}

template Status greedy_dense<double>(const DenseView<double>&, int32_t*);
template Status greedy_dense<float>(const DenseView<float>&, int32_t*);
template Status mutual_nearest_dense<double>(const DenseView<double>&, int32_t*);
template Status mutual_nearest_dense<float>(const DenseView<float>&, int32_t*);

}  // namespace kgalign
