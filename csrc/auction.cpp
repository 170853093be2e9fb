// Sparse epsilon-scaling auction for the asymmetric, partial assignment problem
//   maximise  sum_{i matched} s_{i,pi(i)} + sum_{i unmatched} t_i
// over a CSR candidate graph. Every row owns a private "no match" object of value t_i and price
// 0, so a row abstains when no candidate beats t_i, rows without candidates are legal and no
// row can make the problem infeasible.
//
// Forward Gauss-Seidel auction with epsilon scaling, then (in the last phase) reverse
// iterations that bring the price of every unassigned column down to the floor 0, so that
// epsilon-complementary slackness holds for the asymmetric problem and
//   primal >= optimum - n_rows * eps.
// References: D. P. Bertsekas, "The auction algorithm: a distributed relaxation method for the
// assignment problem", Annals of OR 14 (1988); D. P. Bertsekas, D. A. Castanon, "A
// forward/reverse auction algorithm for asymmetric assignment problems", Computational
// Optimization and Applications 1 (1992) 277-297.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "csr.hpp"

namespace kgalign {
namespace {
constexpr double NEG_INF = -std::numeric_limits<double>::infinity();
constexpr int32_t UNASSIGNED = -1;
constexpr int32_t ABSTAIN = -2;
}  // namespace

int auction_csr(const CsrView& S, const double* t, const AuctionOptions& opt, AuctionOutput& out) {
    const int64_t n = S.n_rows, m = S.n_cols;
    if (t == nullptr) return BAD_INPUT;
    out.col4row.assign(n, UNASSIGNED);
    out.prices.assign(m, 0.0);
    std::vector<int32_t>& x = out.col4row;
    std::vector<double>& p = out.prices;
    std::vector<int32_t> owner(m, UNASSIGNED);
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

    // column-wise copy for the reverse iterations (O(nnz) memory)
    std::vector<int64_t> cp(m + 1, 0);
    for (int64_t k = 0; k < S.nnz(); ++k) ++cp[ind[k] + 1];
    for (int64_t j = 0; j < m; ++j) cp[j + 1] += cp[j];
    std::vector<int32_t> crow(S.nnz());
    std::vector<double> cval(S.nnz());
    std::vector<int64_t> cpos(S.nnz());  // CSR position of each column-wise edge
    {
        std::vector<int64_t> fill(cp.begin(), cp.end() - 1);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
                const int64_t pos = fill[ind[k]]++;
                crow[pos] = static_cast<int32_t>(i);
                cval[pos] = a[k];
                cpos[pos] = k;
            }
    }
    std::vector<int64_t> xpos(n, -1);  // CSR position of each row's assigned edge
    std::vector<double> profit(n);
    std::vector<int32_t> work;
    int64_t rev = 0;
    // Reverse iterations (Bertsekas & Castanon): every unassigned column with a price above
    // the floor 0 either drops to the floor or takes its best row, whose profit rises by at
    // least eps. Afterwards eps-CS holds for the asymmetric problem.
    auto reverse_pass = [&](double eps) -> int {
        for (int64_t i = 0; i < n; ++i)  // abstaining rows (x < 0) are worth t_i
            profit[i] = x[i] >= 0 ? a[xpos[i]] - p[x[i]] : t[i];
        work.clear();
        for (int64_t j = 0; j < m; ++j)
            if (owner[j] < 0 && p[j] > 0) work.push_back(static_cast<int32_t>(j));
        while (!work.empty()) {
            const int32_t j = work.back();
            work.pop_back();
            if (owner[j] >= 0 || p[j] <= 0) continue;
            double b1 = NEG_INF, b2 = NEG_INF, aij = 0.0;
            int32_t r1 = -1;
            int64_t k1 = -1;
            for (int64_t k = cp[j]; k < cp[j + 1]; ++k) {
                const double val = cval[k] - profit[crow[k]];
                if (val > b1) { b2 = b1; b1 = val; r1 = crow[k]; aij = cval[k]; k1 = k; }
                else if (val > b2) { b2 = val; }
            }
            if (r1 < 0 || 0.0 >= b1 - eps) { p[j] = 0.0; continue; }
            const double pj = std::max(0.0, b2 - eps);
            p[j] = pj;
            const int32_t old = x[r1];
            profit[r1] = aij - pj;
            x[r1] = j;
            xpos[r1] = cpos[k1];
            owner[j] = r1;
            if (old >= 0) {
                owner[old] = UNASSIGNED;
                if (p[old] > 0) work.push_back(old);
            }
            if (opt.max_bids > 0 && ++rev > opt.max_bids) return NOT_CONVERGED;
            else if (opt.max_bids <= 0) ++rev;
        }
        return OK;
    };

    std::vector<int32_t> queue;
    queue.reserve(static_cast<size_t>(n) * 2 + 16);
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
                if (i + 4 < n)
                    for (int64_t k = ip[i + 4]; k < ip[i + 5]; ++k) __builtin_prefetch(p.data() + ind[k]);
                double best = t[i], mine = x[i] == ABSTAIN ? t[i] : NEG_INF;
                for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
                    const double val = a[k] - p[ind[k]];
                    best = val > best ? val : best;
                    if (ind[k] == x[i]) mine = val;
                }
                if (mine < best - eps) {
                    if (x[i] >= 0) owner[x[i]] = UNASSIGNED;
                    x[i] = UNASSIGNED;
                    queue.push_back(static_cast<int32_t>(i));
                }
            }
        }
        size_t head = 0;
        while (head < queue.size()) {
            // software pipeline against memory latency: the row after next gets its CSR
            // slices fetched, the next row the prices of its candidates
            if (head + 6 < queue.size()) {
                const int32_t r6 = queue[head + 6];
                __builtin_prefetch(ip + r6);
            }
            if (head + 4 < queue.size()) {
                const int32_t r4 = queue[head + 4];
                __builtin_prefetch(ind + ip[r4]);
                __builtin_prefetch(a + ip[r4]);
            }
            if (head + 2 < queue.size()) {
                const int32_t r2 = queue[head + 2];
                for (int64_t k = ip[r2]; k < ip[r2 + 1]; ++k) __builtin_prefetch(p.data() + ind[k]);
            }
            const int32_t i = queue[head++];
            if (head > (size_t)n * 4 && head * 2 > queue.size()) {  // compact the queue
                queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(head));
                head = 0;
            }
            double v1 = t[i], v2 = NEG_INF;
            int32_t j1 = ABSTAIN;
            int64_t k1 = -1;
            for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
                const double val = a[k] - p[ind[k]];
                if (val > v1) { v2 = v1; v1 = val; j1 = ind[k]; k1 = k; }
                else if (val > v2) { v2 = val; }
            }
            if (j1 == ABSTAIN) { x[i] = ABSTAIN; continue; }
            p[j1] += (v1 - v2) + eps;
            const int32_t prev = owner[j1];
            owner[j1] = i;
            x[i] = j1;
            xpos[i] = k1;
            if (prev >= 0) { x[prev] = UNASSIGNED; queue.push_back(prev); }
            if (opt.max_bids > 0 && ++bids > opt.max_bids) return NOT_CONVERGED;
            else if (opt.max_bids <= 0) ++bids;
        }
        const int st = reverse_pass(eps);
        if (st != OK) return st;
        if (eps <= eps_final) break;
        eps = std::max(eps / factor, eps_final);
    }
    out.n_bids = bids;
    out.n_phases = phases;
    out.eps_used = eps;

    out.n_reverse = rev;

    // primal value and dual bound
    double primal = 0.0, dual = 0.0;
    for (int64_t j = 0; j < m; ++j) dual += p[j];
    for (int64_t i = 0; i < n; ++i) {
        double best = t[i];
        for (int64_t k = ip[i]; k < ip[i + 1]; ++k) {
            best = std::max(best, a[k] - p[ind[k]]);
            if (ind[k] == x[i]) primal += a[k];
        }
        dual += best;
        if (x[i] < 0) { primal += t[i]; x[i] = UNASSIGNED; }
    }
    out.primal = primal;
    out.dual = dual;
    return OK;
}

}  // namespace kgalign
