// Sparse epsilon-scaling auction for the asymmetric, partial assignment problem
//   maximise  sum_{i matched} s_{i,pi(i)} + sum_{i unmatched} t_i
// over a CSR candidate graph. Every row owns a private "no match" object of value t_i and price
// 0, so a row abstains when no candidate beats t_i, rows without candidates are legal and no
// row can make the problem infeasible.
//
// Forward Gauss-Seidel auction with epsilon scaling (with n_threads > 1 and OpenMP: Jacobi
// rounds computed in parallel while at least 4096 rows are free, Gauss-Seidel for the tail),
// then, after each phase, reverse iterations that bring the price of every unassigned column
// down to the floor 0, so that epsilon-complementary slackness holds for the asymmetric
// problem and  primal >= optimum - n_rows * eps.
// Memory layout for the memory-latency-bound bids: price and owner of a column share a cache
// line; the column-wise copy for the reverse iterations is built only when first needed.
// Processing order: a row evicted by a bid bids again a few steps later (not at the back of
// the queue), while the candidates it shares with its evictor are still cached; the order of
// free rows does not affect the guarantees.
// References: D. P. Bertsekas, "The auction algorithm: a distributed relaxation method for the
// assignment problem", Annals of OR 14 (1988); D. P. Bertsekas, D. A. Castanon, "A
// forward/reverse auction algorithm for asymmetric assignment problems", Computational
// Optimization and Applications 1 (1992) 277-297.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#ifdef KGALIGN_HAVE_OPENMP
#include <omp.h>
#endif

#include "csr.hpp"
#include "prefetch.hpp"

namespace kgalign {
namespace {
constexpr double NEG_INF = -std::numeric_limits<double>::infinity();
constexpr int32_t UNASSIGNED = -1;
constexpr int32_t ABSTAIN = -2;
}  // namespace

Status auction_csr(const CsrView& S, const double* t, const AuctionOptions& opt, AuctionOutput& out) {
    const int64_t n = S.n_rows, m = S.n_cols;
    if (t == nullptr) return Status::INVALID_ARGUMENT;
    out.col4row.assign(n, UNASSIGNED);
    std::vector<int32_t>& x = out.col4row;
    // price and owner of a column side by side: a bid reads both, one cache miss instead of two
    struct ColState {
        double p;
        int32_t owner;
    };
    std::vector<ColState> cs(m, ColState{0.0, UNASSIGNED});
    const int64_t* ip = S.indptr;
    const int32_t* ind = S.indices;
    const double* a = S.data;

    double lo = std::numeric_limits<double>::infinity(), hi = NEG_INF;
    for (int64_t k = 0; k < S.nnz(); ++k) { lo = std::min(lo, a[k]); hi = std::max(hi, a[k]); }
    const double eps_final = opt.eps_final > 0 ? opt.eps_final : 1e-9;
    // default start: 1/20 of the spread of the similarities (measured on alignment-like
    // top-k graphs; larger starts only add phases of price wars)
    // the scale of the problem: spread of the similarities and how far below them a row may
    // have to bid before abstaining (rows that lose every candidate push prices that far)
    double tmin = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i) tmin = std::min(tmin, t[i]);
    double spread = S.nnz() > 0 ? std::max(hi - lo, hi - tmin) : 0.0;
    double eps = opt.eps_start > 0 ? opt.eps_start : (spread > 0 ? spread / 20.0 : eps_final);
    eps = std::max(eps, eps_final);
    const double factor = opt.eps_factor > 1.0 ? opt.eps_factor : 10.0;

    // column-wise copy for the reverse iterations (O(nnz) memory), built on first use: on
    // square or nearly perfect problems no column is left priced and unassigned
    std::vector<int64_t> cp;
    std::vector<int32_t> crow;
    std::vector<double> cval;
    auto build_columns = [&]() {
        cp.assign(m + 1, 0);
        for (int64_t k = 0; k < S.nnz(); ++k) ++cp[ind[k] + 1];
        for (int64_t j = 0; j < m; ++j) cp[j + 1] += cp[j];
        crow.resize(S.nnz());
        cval.resize(S.nnz());
        std::vector<int64_t> fill(cp.begin(), cp.end() - 1);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
                const int64_t pos = fill[ind[k]]++;
                crow[pos] = static_cast<int32_t>(i);
                cval[pos] = a[k];
            }
    };
    std::vector<double> profit(n);
    std::vector<int32_t> work;
    int64_t rev = 0;
    // Reverse iterations (Bertsekas & Castanon): every unassigned column with a price above
    // the floor 0 either drops to the floor or takes its best row, whose profit rises by at
    // least eps. Afterwards eps-CS holds for the asymmetric problem.
    auto reverse_pass = [&](double eps) -> Status {
        work.clear();
        for (int64_t j = 0; j < m; ++j)
            if (cs[j].owner < 0 && cs[j].p > 0) work.push_back(static_cast<int32_t>(j));
        if (work.empty()) return Status::OK;
        if (cp.empty()) build_columns();
        for (int64_t i = 0; i < n; ++i) {  // abstaining rows (x < 0) are worth t_i
            profit[i] = t[i];
            if (x[i] >= 0)
                for (int64_t k = ip[i]; k < ip[i + 1]; ++k)
                    if (ind[k] == x[i]) { profit[i] = a[k] - cs[x[i]].p; break; }
        }
        while (!work.empty()) {
            const int32_t j = work.back();
            work.pop_back();
            if (cs[j].owner >= 0 || cs[j].p <= 0) continue;
            double b1 = NEG_INF, b2 = NEG_INF, aij = 0.0;
            int32_t r1 = -1;
            for (int64_t k = cp[j]; k < cp[j + 1]; ++k) {
                const double val = cval[k] - profit[crow[k]];
                if (val > b1) { b2 = b1; b1 = val; r1 = crow[k]; aij = cval[k]; }
                else if (val > b2) { b2 = val; }
            }
            if (r1 < 0 || 0.0 >= b1 - eps) { cs[j].p = 0.0; continue; }
            const double pj = std::max(0.0, b2 - eps);
            cs[j].p = pj;
            const int32_t old = x[r1];
            profit[r1] = aij - pj;
            x[r1] = j;
            cs[j].owner = r1;
            if (old >= 0) {
                cs[old].owner = UNASSIGNED;
                if (cs[old].p > 0) work.push_back(old);
            }
            if (opt.max_bids > 0 && ++rev > opt.max_bids) return Status::ITERATION_LIMIT;
            else if (opt.max_bids <= 0) ++rev;
        }
        return Status::OK;
    };

    // The bid of row i: its best object j1 (ABSTAIN when none beats t_i), the best value v1
    // and the second best v2 (t_i counts as an object), all at the current prices.
    auto best_two = [&](int32_t i, double& v1, double& v2) -> int32_t {
        v1 = t[i];
        v2 = NEG_INF;
        int32_t j1 = ABSTAIN;
        for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
            const double val = a[k] - cs[ind[k]].p;
            if (val > v1) { v2 = v1; v1 = val; j1 = ind[k]; }
            else if (val > v2) { v2 = val; }
        }
        return j1;
    };

    // software prefetch against memory latency, in stages: a row's CSR slice, then (once the
    // slice is cached) the prices of its candidates
    auto fetch_slice = [&](int32_t r) {
        KGALIGN_PREFETCH(ind + ip[r]);
        KGALIGN_PREFETCH(a + ip[r]);
    };
    auto fetch_prices = [&](int32_t r) {
        for (int64_t k = ip[r]; k < ip[r + 1]; ++k) KGALIGN_PREFETCH(cs.data() + ind[k]);
        KGALIGN_PREFETCH(t + r);
    };

    std::vector<int32_t> queue;
    queue.reserve(static_cast<size_t>(n) + 16);
#ifdef KGALIGN_HAVE_OPENMP
    // parallel (Jacobi) bidding while many rows are free; the tail is Gauss-Seidel
    const int n_threads = opt.n_threads > 0 ? opt.n_threads : omp_get_max_threads();
    constexpr size_t JACOBI_MIN_ROWS = 4096;
    std::vector<int32_t> next, bid_col;
    std::vector<double> bid_val;
#endif
    int64_t bids = 0;
    int phases = 0;
    while (true) {
        ++phases;
        // new phase: keep prices and the rows that still satisfy eps-complementary slackness
        // for the new epsilon; release the others.
        queue.clear();
        if (phases == 1) {
            for (int64_t i = 0; i < n; ++i) queue.push_back(static_cast<int32_t>(i));
        } else {
            for (int64_t i = 0; i < n; ++i) {
                if (i + 4 < n) fetch_prices(static_cast<int32_t>(i + 4));
                double best = t[i], mine = x[i] == ABSTAIN ? t[i] : NEG_INF;
                for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
                    const double val = a[k] - cs[ind[k]].p;
                    best = val > best ? val : best;
                    if (ind[k] == x[i]) mine = val;
                }
                if (mine < best - eps) {
                    if (x[i] >= 0) cs[x[i]].owner = UNASSIGNED;
                    x[i] = UNASSIGNED;
                    queue.push_back(static_cast<int32_t>(i));
                }
            }
        }
        size_t head = 0;
        while (head < queue.size()) {
#ifdef KGALIGN_HAVE_OPENMP
            if (n_threads > 1 && queue.size() - head >= JACOBI_MIN_ROWS) {
                // Jacobi round (Bertsekas 1988, sec. on parallel auction): every free row
                // computes its bid against the same prices, in parallel; then the bids are
                // resolved in queue order: a bid above the column's current price wins and
                // evicts the owner, a lower one leaves the row free for the next round. The
                // winner bid p_old + (v1 - v2) + eps, so eps-CS holds as in Gauss-Seidel.
                const int64_t nb = static_cast<int64_t>(queue.size() - head);
                bid_col.resize(nb);
                bid_val.resize(nb);
                const int32_t* qp = queue.data() + head;
#pragma omp parallel for num_threads(n_threads) schedule(static, 256)
                for (int64_t q = 0; q < nb; ++q) {
                    if (q + 4 < nb) fetch_prices(qp[q + 4]);
                    if (q + 8 < nb) fetch_slice(qp[q + 8]);
                    double v1, v2;
                    const int32_t j1 = best_two(qp[q], v1, v2);
                    bid_col[q] = j1;
                    bid_val[q] = j1 >= 0 ? cs[j1].p + (v1 - v2) + eps : 0.0;
                }
                next.clear();
                for (int64_t q = 0; q < nb; ++q) {
                    const int32_t i = qp[q], j = bid_col[q];
                    if (j == ABSTAIN) { x[i] = ABSTAIN; continue; }
                    ColState& c = cs[j];
                    if (bid_val[q] > c.p) {
                        c.p = bid_val[q];
                        const int32_t prev = c.owner;
                        c.owner = i;
                        x[i] = j;
                        if (prev >= 0) { x[prev] = UNASSIGNED; next.push_back(prev); }
                        ++bids;
                    } else {
                        next.push_back(i);
                    }
                }
                queue.swap(next);
                head = 0;
                if (opt.max_bids > 0 && bids > opt.max_bids) return Status::ITERATION_LIMIT;
                continue;
            }
#endif
            // Gauss-Seidel bidding. A row evicted at step s bids again at step s + DELAY (slot
            // s % DELAY holds it meanwhile): soon enough that its candidates, which it shares
            // with the row that evicted it, are still cached, late enough that its CSR slice
            // and its candidates' prices are prefetched in stages while it waits. Rows of the
            // queue fill the other steps, with their own prefetch pipeline.
            constexpr int DELAY = 8;
            int32_t slot[DELAY];
            std::fill(slot, slot + DELAY, UNASSIGNED);
            int pending = 0;
            for (uint64_t step = 0; pending > 0 || head < queue.size(); ++step) {
                int32_t i = slot[step % DELAY];
                if (i >= 0) {
                    slot[step % DELAY] = UNASSIGNED;
                    --pending;
                } else if (head < queue.size()) {
                    const size_t left = queue.size() - head;
                    if (left > 6) KGALIGN_PREFETCH(ip + queue[head + 6]);
                    if (left > 4) fetch_slice(queue[head + 4]);
                    if (left > 2) fetch_prices(queue[head + 2]);
                    i = queue[head++];
                }
                if (slot[(step + 3) % DELAY] >= 0) fetch_slice(slot[(step + 3) % DELAY]);
                if (slot[(step + 1) % DELAY] >= 0) fetch_prices(slot[(step + 1) % DELAY]);
                if (i < 0) continue;
                double v1, v2;
                const int32_t j1 = best_two(i, v1, v2);
                if (j1 == ABSTAIN) { x[i] = ABSTAIN; continue; }
                ColState& c1 = cs[j1];
                c1.p += (v1 - v2) + eps;
                const int32_t prev = c1.owner;
                c1.owner = i;
                x[i] = j1;
                if (prev >= 0) {
                    x[prev] = UNASSIGNED;
                    slot[step % DELAY] = prev;
                    ++pending;
                    KGALIGN_PREFETCH(ip + prev);
                }
                if (++bids > opt.max_bids && opt.max_bids > 0) return Status::ITERATION_LIMIT;
            }
        }
        const Status st = reverse_pass(eps);
        if (st != Status::OK) return st;
        if (eps <= eps_final) break;
        eps = std::max(eps / factor, eps_final);
    }
    out.n_bids = bids;
    out.n_phases = phases;
    out.eps_used = eps;

    out.n_reverse = rev;

    // primal value and dual bound
    double primal = 0.0, dual = 0.0;
    out.prices.resize(m);
    for (int64_t j = 0; j < m; ++j) {
        out.prices[j] = cs[j].p;
        dual += cs[j].p;
    }
    for (int64_t i = 0; i < n; ++i) {
        double best = t[i];
        for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
            best = std::max(best, a[k] - cs[ind[k]].p);
            if (ind[k] == x[i]) primal += a[k];
        }
        dual += best;
        if (x[i] < 0) { primal += t[i]; x[i] = UNASSIGNED; }
    }
    out.primal = primal;
    out.dual = dual;
    return Status::OK;
}

}  // namespace kgalign
