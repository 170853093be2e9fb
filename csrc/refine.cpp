// Re-exchange refinement and ranked alternatives (UDCEA's re-exchange, stated exactly).
// For an assignment pi, swapping the partners of rows i and k changes the objective by
//   delta(i,k) = s(i,pi(k)) + s(k,pi(i)) - s(i,pi(i)) - s(k,pi(k)).
// The improvement pass applies improving swaps, moves to free columns and (when per-row
// "no match" values t are given) abstentions and entries, until none is left. Every applied
// move has a strictly positive gain evaluated on the current matching, so the objective never
// decreases and the pass terminates.
// Reference: UDCEA (unsupervised dual-encoder cross-lingual entity alignment, re-exchange step).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "csr.hpp"

namespace kgalign {
namespace {
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

// Uniform access to dense and CSR similarities. get(i, j) is NaN when (i, j) is not stored.
struct CsrAcc {
    const CsrView& S;
    int64_t n_rows() const { return S.n_rows; }
    int64_t n_cols() const { return S.n_cols; }
    double get(int64_t i, int64_t j) const {  // indices sorted within each row
        const int32_t* b = S.indices + S.indptr[i];
        const int32_t* e = S.indices + S.indptr[i + 1];
        const int32_t* it = std::lower_bound(b, e, static_cast<int32_t>(j));
        if (it == e || *it != j) return NaN;
        return S.data[S.indptr[i] + (it - b)];
    }
    template <class F>
    void for_row(int64_t i, F&& f) const {
        for (int64_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) f(static_cast<int64_t>(S.indices[k]), S.data[k]);
    }
    double row_min(int64_t i) const {
        double r = std::numeric_limits<double>::infinity();
        for (int64_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) r = std::min(r, S.data[k]);
        return r;
    }
    // upper bound on s(i, j) over the row's stored entries (-inf for an empty row)
    double row_max(int64_t i) const {
        double r = -std::numeric_limits<double>::infinity();
        for (int64_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) r = std::max(r, S.data[k]);
        return r;
    }
    static constexpr bool lookups_cost = true;  // get() is a binary search in another row
};

template <class T>
struct DenseAcc {
    const DenseView<T>& S;
    int64_t n_rows() const { return S.n_rows; }
    int64_t n_cols() const { return S.n_cols; }
    double get(int64_t i, int64_t j) const { return static_cast<double>(S.row(i)[j]); }
    template <class F>
    void for_row(int64_t i, F&& f) const {
        const T* r = S.row(i);
        for (int64_t j = 0; j < S.n_cols; ++j) f(j, static_cast<double>(r[j]));
    }
    double row_min(int64_t) const { return NaN; }
    double row_max(int64_t) const { return std::numeric_limits<double>::infinity(); }
    static constexpr bool lookups_cost = false;  // get() is one load
};

struct Move {
    double gain;
    int64_t i;      // acting row
    int64_t j;      // column it takes (-1: abstain)
};

template <class Acc>
Status refine_impl(const Acc& S, const double* t, int32_t* x, int64_t max_rounds, double tol,
                   int64_t* n_moves, int64_t* where) {
    const int64_t n = S.n_rows(), m = S.n_cols();
    *n_moves = 0;
    *where = -1;
    std::vector<int32_t> owner(m, -1);
    for (int64_t i = 0; i < n; ++i) {
        if (x[i] >= m) { *where = i; return Status::INVALID_MATCHING; }
        if (x[i] >= 0) {
            if (owner[x[i]] >= 0) { *where = i; return Status::INVALID_MATCHING; }
            owner[x[i]] = static_cast<int32_t>(i);
        }
    }
    std::vector<double> own(n);  // s(i, pi(i)) or t_i (or NaN when unmatched without t)
    // Exchange pruning (sparse input): s(k, pi(i)) <= hi[k] = max(max_j s(k, j), t_k), so an
    // exchange with k gains at most s(i, j) - own[i] + (hi[k] - own[k]). When that bound does
    // not beat the best move found so far, the lookup of s(k, pi(i)) (a binary search in
    // another row, usually a cache miss) is skipped. The chosen moves are unchanged up to
    // float rounding: a move that beats the best by about one ulp may be skipped, and every
    // applied move still improves the objective.
    std::vector<double> hi, slack;
    if (Acc::lookups_cost) {
        hi.resize(n);
        slack.resize(n);
        for (int64_t i = 0; i < n; ++i) {
            hi[i] = S.row_max(i);
            if (t != nullptr) hi[i] = std::max(hi[i], t[i]);
        }
    }
    std::vector<Move> moves;
    std::vector<char> row_used(n), col_used(m);
    int64_t applied = 0;
    for (int64_t round = 0; max_rounds <= 0 || round < max_rounds; ++round) {
        for (int64_t i = 0; i < n; ++i) {
            if (x[i] >= 0) own[i] = S.get(i, x[i]);
            else own[i] = t ? t[i] : NaN;
            if (x[i] >= 0 && std::isnan(own[i])) {  // matched to a non-edge
                *where = i;
                return Status::INVALID_MATCHING;
            }
            if (Acc::lookups_cost) slack[i] = hi[i] - own[i];  // only read for matched owners
        }
        moves.clear();
        for (int64_t i = 0; i < n; ++i) {
            const int64_t ci = x[i];
            if (ci < 0 && t == nullptr) continue;  // unmatched rows stay out without t
            Move best{tol, -1, -1};
            if (ci >= 0 && t != nullptr && t[i] - own[i] > best.gain) best = {t[i] - own[i], i, -1};
            S.for_row(i, [&](int64_t j, double sij) {
                if (j == ci) return;
                const int32_t k = owner[j];
                double g;
                if (k < 0) {
                    g = sij - own[i];
                } else if (ci >= 0) {
                    if (Acc::lookups_cost && !(sij - own[i] + slack[k] > best.gain)) return;
                    const double skc = S.get(k, ci);
                    if (!std::isnan(skc)) g = sij + skc - own[i] - own[k];
                    else if (t != nullptr) g = sij - own[i] - own[k] + t[k];
                    else return;
                } else {  // i unmatched (t given): k is pushed out
                    g = sij - own[i] - own[k] + t[k];
                }
                if (g > best.gain) best = {g, i, j};
            });
            if (best.i >= 0) moves.push_back(best);
        }
        if (moves.empty()) break;
        std::sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) {
            return a.gain > b.gain || (a.gain == b.gain && a.i < b.i);
        });
        std::fill(row_used.begin(), row_used.end(), 0);
        std::fill(col_used.begin(), col_used.end(), 0);
        int64_t this_round = 0;
        for (const Move& mv : moves) {
            const int64_t i = mv.i, j = mv.j, ci = x[i];
            const int64_t k = j >= 0 ? owner[j] : -1;
            if (row_used[i] || (k >= 0 && row_used[k]) || (ci >= 0 && col_used[ci]) ||
                (j >= 0 && col_used[j]))
                continue;
            row_used[i] = 1;
            if (k >= 0) row_used[k] = 1;
            if (ci >= 0) col_used[ci] = 1;
            if (j >= 0) col_used[j] = 1;
            if (j < 0) {  // abstain
                owner[ci] = -1;
                x[i] = -1;
            } else if (k < 0) {  // take a free column
                if (ci >= 0) owner[ci] = -1;
                x[i] = static_cast<int32_t>(j);
                owner[j] = static_cast<int32_t>(i);
            } else {  // exchange with k (k gets ci, or is pushed out)
                const bool k_takes = ci >= 0 && !std::isnan(S.get(k, ci));
                x[i] = static_cast<int32_t>(j);
                owner[j] = static_cast<int32_t>(i);
                if (k_takes) { x[k] = static_cast<int32_t>(ci); owner[ci] = static_cast<int32_t>(k); }
                else { x[k] = -1; if (ci >= 0) owner[ci] = -1; }
            }
            ++this_round;
        }
        applied += this_round;
        *n_moves = applied;
        if (this_round == 0) break;
    }
    return Status::OK;
}

template <class Acc>
Status rank_impl(const Acc& S, const int32_t* x, int64_t k, int64_t* out, int64_t* where) {
    const int64_t n = S.n_rows(), m = S.n_cols();
    *where = -1;
    std::vector<int32_t> owner(m, -1);
    for (int64_t i = 0; i < n; ++i) {
        if (x[i] >= m) { *where = i; return Status::INVALID_MATCHING; }
        if (x[i] >= 0) {
            if (owner[x[i]] >= 0) { *where = i; return Status::INVALID_MATCHING; }
            owner[x[i]] = static_cast<int32_t>(i);
        }
    }
    std::vector<double> own(n, 0.0), rmin(n, NaN);
    for (int64_t i = 0; i < n; ++i) {
        if (x[i] >= 0) own[i] = S.get(i, x[i]);
        rmin[i] = S.row_min(i);
    }
    std::fill(out, out + n * k, int64_t(-1));
    struct Cand { double gain, s; int64_t j; };
    std::vector<Cand> cands;
    for (int64_t i = 0; i < n; ++i) {
        cands.clear();
        const int64_t ci = x[i];
        const double oi = ci >= 0 ? own[i] : 0.0;
        S.for_row(i, [&](int64_t j, double sij) {
            if (j == ci) return;
            const int32_t r = owner[j];
            double g;
            if (r < 0) g = sij - oi;
            else if (ci >= 0) {
                double src = S.get(r, ci);
                if (std::isnan(src)) src = rmin[r];  // absent from a top-k row: at most its minimum
                g = sij + src - oi - own[r];
            } else g = sij - own[r];
            cands.push_back({g, sij, j});
        });
        int64_t pos = 0;
        int64_t* o = out + i * k;
        if (ci >= 0 && k > 0) o[pos++] = ci;
        const int64_t take = std::min<int64_t>(k - pos, static_cast<int64_t>(cands.size()));
        if (take <= 0) continue;
        auto cmp = [](const Cand& a, const Cand& b) {
            if (a.gain != b.gain) return a.gain > b.gain;
            if (a.s != b.s) return a.s > b.s;
            return a.j < b.j;
        };
        std::partial_sort(cands.begin(), cands.begin() + take, cands.end(), cmp);
        for (int64_t q = 0; q < take; ++q) o[pos++] = cands[q].j;
    }
    return Status::OK;
}

}  // namespace

Status refine_csr(const CsrView& S, const double* t, int32_t* col4row, int64_t max_rounds, double tol,
                  int64_t* n_moves, int64_t* where) {
    return refine_impl(CsrAcc{S}, t, col4row, max_rounds, tol, n_moves, where);
}
template <class T>
Status refine_dense(const DenseView<T>& S, const double* t, int32_t* col4row, int64_t max_rounds, double tol,
                    int64_t* n_moves, int64_t* where) {
    return refine_impl(DenseAcc<T>{S}, t, col4row, max_rounds, tol, n_moves, where);
}
Status rank_alternatives_csr(const CsrView& S, const int32_t* col4row, int64_t k, int64_t* out, int64_t* where) {
    return rank_impl(CsrAcc{S}, col4row, k, out, where);
}
template <class T>
Status rank_alternatives_dense(const DenseView<T>& S, const int32_t* col4row, int64_t k, int64_t* out,
                               int64_t* where) {
    return rank_impl(DenseAcc<T>{S}, col4row, k, out, where);
}

template Status refine_dense<double>(const DenseView<double>&, const double*, int32_t*, int64_t, double, int64_t*,
                                     int64_t*);
template Status refine_dense<float>(const DenseView<float>&, const double*, int32_t*, int64_t, double, int64_t*,
                                    int64_t*);
template Status rank_alternatives_dense<double>(const DenseView<double>&, const int32_t*, int64_t, int64_t*,
                                                int64_t*);
template Status rank_alternatives_dense<float>(const DenseView<float>&, const int32_t*, int64_t, int64_t*,
                                               int64_t*);

}  // namespace kgalign
