// Exact per-row top-k selection from a dense row-major block of similarities.
//
// For every row the k largest values are kept; among equal values the smaller column wins
// (the order (value desc, column asc) is a strict total order on the entries of a row, so the
// selection is unique). Columns are scanned in increasing order; thr is the value of the k-th
// best entry kept so far. An entry is appended to a buffer only if its value is strictly
// larger than thr: with an equal value its column is larger, so it loses the tie. When the
// buffer is nearly full (4k entries), nth_element keeps its k best and raises thr (amortised
// O(1) per appended entry). Almost every entry therefore costs one comparison against a
// register-held threshold: the scan tests 16 entries at a time with a branch-free "any above
// thr" reduction that compilers vectorise, and appends the entries of a hit block branch-free,
// so the selection runs at about memory speed. NaN fails every "<=" test, so the same test
// sends it to the slow path, where it is reported.
//
// Rows are independent: with OpenMP they are distributed over threads (static schedule).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <limits>
#include <vector>

#ifdef KGALIGN_HAVE_OPENMP
#include <omp.h>
#endif

#include "csr.hpp"

namespace kgalign {
namespace {

// A value and its position (a column of a row, or a row of a column).
template <class T, class I = int32_t>
struct Entry {
    T v;
    I c;
};

// "a comes before b" in the order (value desc, position asc).
template <class T, class I>
inline bool better(const Entry<T, I>& a, const Entry<T, I>& b) {
    return a.v > b.v || (a.v == b.v && a.c < b.c);
}

// Whether any of the 16 entries at p fails "<= thr" (above thr, or NaN). Written with
// GCC/Clang vector extensions because compilers do not vectorise the scalar form (it
// becomes 16 compare-and-set instructions); the portable loop is the fallback.
template <class T>
inline bool any_above16(const T* p, T thr) {
#if defined(__GNUC__) || defined(__clang__)
    constexpr int L = 16 / sizeof(T);  // lanes of a 16-byte vector (SSE2 / NEON baseline)
    typedef T vec __attribute__((vector_size(16)));
    typedef std::conditional_t<sizeof(T) == 4, int32_t, int64_t> lane;
    typedef lane ivec __attribute__((vector_size(16)));
    vec t;
    for (int l = 0; l < L; ++l) t[l] = thr;
    ivec acc = {};
    for (int q = 0; q < 16; q += L) {
        vec v;
        std::memcpy(&v, p + q, sizeof(vec));
        acc |= ~(v <= t);  // lanes: -1 where the test fails
    }
    lane r = 0;
    for (int l = 0; l < L; ++l) r |= acc[l];
    return r != 0;
#else
    int any = 0;
    for (int q = 0; q < 16; ++q) any |= !(p[q] <= thr);
    return any != 0;
#endif
}

// Returns -1 on success or the column of the first NaN. buf has room for cap >= k + 64 entries.
template <class T>
int64_t select_row(const T* row, int64_t n, int64_t k, Entry<T>* buf, int64_t cap,
                   int32_t* cols_out, T* vals_out, bool by_column) {
    auto cmp = [](const Entry<T>& a, const Entry<T>& b) { return better(a, b); };
    // the first k entries are kept unconditionally
    T thr = std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < k; ++j) {
        const T v = row[j];
        if (std::isnan(v)) return j;
        buf[j] = {v, static_cast<int32_t>(j)};
        thr = v < thr ? v : thr;
    }
    int64_t size = k;
    constexpr int64_t W = 16;  // entries per vectorised threshold test (any_above16)
    // keep the k best of the buffer; thr = value of the k-th best
    auto compact = [&]() {
        std::nth_element(buf, buf + (k - 1), buf + size, cmp);
        thr = buf[k - 1].v;
        size = k;
    };
    auto slow = [&](int64_t jj) -> bool {  // false: NaN found
        const T v = row[jj];
        if (v <= thr) return true;  // equal values lose: their column is larger
        if (std::isnan(v)) return false;
        buf[size++] = {v, static_cast<int32_t>(jj)};
        if (size > cap - W) compact();
        return true;
    };
    int64_t j = k;
    for (; j < n && (j % W) != 0; ++j)
        if (!slow(j)) return j;
    for (; j + W <= n; j += W) {
        const T* p = row + j;
        if (!any_above16(p, thr)) continue;  // the common case: one vector test
        int nan = 0;
        for (int64_t q = 0; q < W; ++q) nan |= std::isnan(p[q]);
        if (nan)
            for (int64_t q = 0; q < W; ++q)
                if (std::isnan(p[q])) return j + q;
        // branch-free append of the entries above thr (room for W more is kept free)
        for (int64_t q = 0; q < W; ++q) {
            buf[size] = {p[q], static_cast<int32_t>(j + q)};
            size += p[q] > thr;
        }
        if (size > cap - W) compact();
    }
    for (; j < n; ++j)
        if (!slow(j)) return j;
    if (size > k) std::nth_element(buf, buf + (k - 1), buf + size, cmp);
    if (by_column)  // CSR order
        std::sort(buf, buf + k, [](const Entry<T>& a, const Entry<T>& b) { return a.c < b.c; });
    else
        std::sort(buf, buf + k, cmp);  // best first
    for (int64_t q = 0; q < k; ++q) {
        cols_out[q] = buf[q].c;
        vals_out[q] = buf[q].v;
    }
    return -1;
}

}  // namespace

template <class T>
Status topk_rows(const T* data, int64_t n_rows, int64_t n_cols, int64_t k, int32_t* cols,
              T* vals, int n_threads, bool by_column, int64_t* bad_index) {
    *bad_index = -1;
    if (k < 0 || n_rows < 0 || n_cols < 0 || k > n_cols) return Status::INVALID_ARGUMENT;
    if (k == 0 || n_rows == 0) {
        // still reject NaN so that k = 0 is not a way around validation
        for (int64_t f = 0; f < n_rows * n_cols; ++f)
            if (std::isnan(data[f])) { *bad_index = f; return Status::INVALID_VALUE; }
        return Status::OK;
    }
    int64_t first_bad = std::numeric_limits<int64_t>::max();
#ifdef KGALIGN_HAVE_OPENMP
    const int nt = n_threads > 0 ? n_threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt) reduction(min : first_bad)
#endif
    {
        const int64_t cap = std::max<int64_t>(4 * k, k + 64);  // 2k, 8k, 16k: slower
        std::vector<Entry<T>> buf(static_cast<size_t>(cap));
#ifdef KGALIGN_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t i = 0; i < n_rows; ++i) {
            const int64_t b = select_row<T>(data + i * n_cols, n_cols, k, buf.data(), cap,
                                            cols + i * k, vals + i * k, by_column);
            if (b >= 0) first_bad = std::min(first_bad, i * n_cols + b);
        }
    }
    (void)n_threads;
    if (first_bad != std::numeric_limits<int64_t>::max()) {
        *bad_index = first_bad;
        return Status::INVALID_VALUE;
    }
    return Status::OK;
}

template Status topk_rows<float>(const float*, int64_t, int64_t, int64_t, int32_t*, float*, int, bool,
                              int64_t*);
template Status topk_rows<double>(const double*, int64_t, int64_t, int64_t, int32_t*, double*, int,
                               bool, int64_t*);


// ---------------------------------------------------------------- column-wise running top-k
//
// The column side of a two-sided candidate graph, from row blocks of a row-major product,
// without transposing them. Each column j owns a buffer of cap entries (vals/rows at
// j * cap), its fill size[j] and thr[j], the k-th best value kept so far (-inf until the
// first compaction; the first k values of a column always enter). Rows arrive in increasing order (blocks in order, rows within a block
// in order), so an entry equal to thr loses the tie to the kept entries (smaller rows) and
// is skipped, exactly as in select_row. A full buffer is compacted to its k best by
// nth_element. Threads own disjoint column ranges and stream every row of the block
// through their range (contiguous reads).
namespace {

template <class T>
using RowEntry = Entry<T, int64_t>;  // a row of a column

template <class T>
void compact_column(T* vals, int64_t* rows, int64_t& size, int64_t k, T& thr) {
    std::vector<RowEntry<T>> tmp(static_cast<size_t>(size));
    for (int64_t q = 0; q < size; ++q) tmp[q] = {vals[q], rows[q]};
    std::nth_element(tmp.begin(), tmp.begin() + (k - 1), tmp.end(), better<T, int64_t>);
    for (int64_t q = 0; q < k; ++q) {
        vals[q] = tmp[q].v;
        rows[q] = tmp[q].c;
    }
    size = k;
    thr = tmp[k - 1].v;
}

}  // namespace

template <class T>
Status topk_cols_update(const T* block, int64_t b, int64_t n_cols, int64_t row_offset, int64_t k,
                        int64_t cap, T* vals, int64_t* rows, int64_t* size, T* thr, int n_threads,
                        int64_t* bad_index) {
    *bad_index = -1;
    if (k < 1 || cap < k + 1 || b < 0 || n_cols < 0) return Status::INVALID_ARGUMENT;
    int64_t first_bad = std::numeric_limits<int64_t>::max();
#ifdef KGALIGN_HAVE_OPENMP
    const int nt = n_threads > 0 ? n_threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt) reduction(min : first_bad)
    {
        const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
#else
    {
        const int tid = 0, nth = 1;
#endif
        const int64_t j0 = n_cols * tid / nth, j1 = n_cols * (tid + 1) / nth;
        for (int64_t i = 0; i < b; ++i) {
            const T* row = block + i * n_cols;
            for (int64_t j = j0; j < j1; ++j) {
                const T v = row[j];
                // NaN fails the test and is caught below; while fewer than k are kept every
                // value enters (also -inf, so that a column of forbidden pairs still has k)
                if (v <= thr[j] && size[j] >= k) continue;
                if (std::isnan(v)) {
                    first_bad = std::min(first_bad, i * n_cols + j);
                    continue;
                }
                T* cv = vals + j * cap;
                int64_t* cr = rows + j * cap;
                cv[size[j]] = v;
                cr[size[j]] = row_offset + i;
                if (++size[j] == cap) compact_column<T>(cv, cr, size[j], k, thr[j]);
            }
        }
    }
    (void)n_threads;
    if (first_bad != std::numeric_limits<int64_t>::max()) {
        *bad_index = first_bad;
        return Status::INVALID_VALUE;
    }
    return Status::OK;
}

template <class T>
Status topk_cols_finish(int64_t n_cols, int64_t k, int64_t cap, T* vals, int64_t* rows,
                        const int64_t* size, int64_t* rows_out, T* vals_out) {
    for (int64_t j = 0; j < n_cols; ++j)
        if (size[j] < k) return Status::INVALID_ARGUMENT;  // fewer rows than k were streamed
    for (int64_t j = 0; j < n_cols; ++j) {
        std::vector<RowEntry<T>> tmp(static_cast<size_t>(size[j]));
        for (int64_t q = 0; q < size[j]; ++q) tmp[q] = {vals[j * cap + q], rows[j * cap + q]};
        std::partial_sort(tmp.begin(), tmp.begin() + k, tmp.end(), better<T, int64_t>);
        for (int64_t q = 0; q < k; ++q) {
            rows_out[j * k + q] = tmp[q].c;
            vals_out[j * k + q] = tmp[q].v;
        }
    }
    return Status::OK;
}

template Status topk_cols_update<float>(const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                        float*, int64_t*, int64_t*, float*, int, int64_t*);
template Status topk_cols_update<double>(const double*, int64_t, int64_t, int64_t, int64_t,
                                         int64_t, double*, int64_t*, int64_t*, double*, int,
                                         int64_t*);
template Status topk_cols_finish<float>(int64_t, int64_t, int64_t, float*, int64_t*,
                                        const int64_t*, int64_t*, float*);
template Status topk_cols_finish<double>(int64_t, int64_t, int64_t, double*, int64_t*,
                                         const int64_t*, int64_t*, double*);

}  // namespace kgalign
