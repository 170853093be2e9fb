// Dense linear sum assignment: Jonker-Volgenant initialisation (column reduction, reduction
// transfer, augmenting row reduction) followed by shortest augmenting paths (Dijkstra on
// reduced costs, as in Crouse 2016 / scipy), extended with per-row "unmatched" sinks.
//
// References: R. Jonker, A. Volgenant, "A shortest augmenting path algorithm for dense and
// sparse linear assignment problems", Computing 38 (1987) 325-340. D. F. Crouse, "On
// implementing 2D rectangular assignment algorithms", IEEE TAES 52(4) (2016) 1679-1696.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "csr.hpp"

namespace kgalign {
namespace {

constexpr double INF = std::numeric_limits<double>::infinity();

// Jonker-Volgenant initialisation for a square, finite problem. Fills x (col4row), y
// (row4col) and v; returns the list of rows left free.
template <class T>
std::vector<int64_t> jv_init_square(const T* c, int64_t n, std::vector<int64_t>& x,
                                    std::vector<int64_t>& y, std::vector<double>& v) {
    // column reduction, row-major friendly: running column minima
    std::vector<int64_t> arg(n, 0);
    for (int64_t j = 0; j < n; ++j) v[j] = static_cast<double>(c[j]);
    for (int64_t i = 1; i < n; ++i) {
        const T* row = c + i * n;
        for (int64_t j = 0; j < n; ++j) {
            double h = static_cast<double>(row[j]);
            if (h < v[j]) { v[j] = h; arg[j] = i; }
        }
    }
    std::vector<int64_t> matches(n, 0);
    for (int64_t j = n - 1; j >= 0; --j) {
        int64_t i = arg[j];
        if (matches[i]++ == 0) { x[i] = j; y[j] = i; }
        else { y[j] = -1; }
    }
    std::vector<int64_t> free_rows;
    for (int64_t i = 0; i < n; ++i) {
        if (matches[i] == 0) { free_rows.push_back(i); continue; }
        if (matches[i] == 1) {  // reduction transfer
            int64_t j1 = x[i];
            const T* row = c + i * n;
            double mu = INF;
            for (int64_t j = 0; j < n; ++j)
                if (j != j1) mu = std::min(mu, static_cast<double>(row[j]) - v[j]);
            if (mu < INF) v[j1] -= mu;  // u_i = mu; c_ij1 - u_i - v_j1 stays 0
        }
    }
    return free_rows;
}

// Augmenting row reduction (two rounds), valid for n_rows <= n_cols starting from any v where
// every assigned row sits on a column of minimum c_ij - v_j (lowering v_j keeps that true).
template <class T>
void jv_arr(const T* c, int64_t nr, int64_t nc, std::vector<int64_t>& x, std::vector<int64_t>& y,
            std::vector<double>& v, std::vector<int64_t>& free_rows) {
    if (nc < 2) return;
    for (int round = 0; round < 2 && !free_rows.empty(); ++round) {
        int64_t n_free = static_cast<int64_t>(free_rows.size());
        int64_t current = 0, new_free = 0, rr_cnt = 0;
        while (current < n_free) {
            ++rr_cnt;
            int64_t i = free_rows[current++];
            const T* row = c + i * nc;
            double u1 = static_cast<double>(row[0]) - v[0], u2 = INF;
            int64_t j1 = 0, j2 = -1;
            for (int64_t j = 1; j < nc; ++j) {
                double h = static_cast<double>(row[j]) - v[j];
                if (h < u2) {
                    if (h >= u1) { u2 = h; j2 = j; }
                    else { u2 = u1; j2 = j1; u1 = h; j1 = j; }
                }
            }
            int64_t i0 = y[j1];
            double v1_new = v[j1] - (u2 - u1);
            bool lowers = v1_new < v[j1];
            if (rr_cnt < current * nc) {
                if (lowers) v[j1] = v1_new;
                else if (i0 >= 0 && j2 >= 0) { j1 = j2; i0 = y[j2]; }
                if (i0 >= 0) {
                    if (lowers) free_rows[--current] = i0;
                    else free_rows[new_free++] = i0;
                }
            } else if (i0 >= 0) {
                free_rows[new_free++] = i0;
            }
            if (i0 >= 0) x[i0] = -1;
            x[i] = j1; y[j1] = i;
        }
        free_rows.resize(new_free);
    }
}

// Shortest augmenting paths for the rows in free_rows. dummy (nullable) holds the finite cost
// of leaving each row unmatched; a row that takes its dummy is dropped for good (its private
// dummy column can only be reached from itself).
template <class T>
int sap(const T* c, int64_t nr, int64_t nc, const double* dummy, std::vector<int64_t>& x,
        std::vector<int64_t>& y, std::vector<double>& u, std::vector<double>& v,
        const std::vector<int64_t>& free_rows) {
    std::vector<double> spc(nc, INF);
    std::vector<int64_t> path(nc, -1), remaining(nc), sc_list, sr_list;
    sc_list.reserve(nc);
    sr_list.reserve(nr);
    for (int64_t cur : free_rows) {
        for (int64_t j = 0; j < nc; ++j) remaining[j] = j;
        int64_t n_rem = nc;
        std::fill(spc.begin(), spc.end(), INF);
        sc_list.clear();
        sr_list.clear();
        double min_val = 0.0;
        int64_t i = cur, sink = -1, dummy_row = -1;
        double best_dummy = INF;
        int64_t best_dummy_row = -1;
        while (true) {
            sr_list.push_back(i);
            if (dummy != nullptr) {
                double cand = min_val + dummy[i] - u[i];
                if (cand < best_dummy) { best_dummy = cand; best_dummy_row = i; }
            }
            const T* row = c + i * nc;
            const double ui = u[i];
            double lowest = INF;
            int64_t index = -1;
            for (int64_t it = 0; it < n_rem; ++it) {
                const int64_t j = remaining[it];
                const double r = min_val + static_cast<double>(row[j]) - ui - v[j];
                if (r < spc[j]) { path[j] = i; spc[j] = r; }
                if (spc[j] < lowest || (spc[j] == lowest && y[j] < 0)) { lowest = spc[j]; index = it; }
            }
            if (best_dummy < lowest) { min_val = best_dummy; dummy_row = best_dummy_row; break; }
            if (index < 0 || lowest == INF) return INFEASIBLE;
            min_val = lowest;
            const int64_t j = remaining[index];
            sc_list.push_back(j);
            remaining[index] = remaining[--n_rem];
            if (y[j] < 0) { sink = j; break; }
            i = y[j];
        }
        // dual update
        u[cur] += min_val;
        for (int64_t r : sr_list)
            if (r != cur) u[r] += min_val - spc[x[r]];
        for (int64_t j : sc_list) v[j] -= min_val - spc[j];
        // augment
        int64_t j;
        if (dummy_row >= 0) {
            if (dummy_row == cur) { x[cur] = -1; continue; }
            j = x[dummy_row];
            x[dummy_row] = -1;
        } else {
            j = sink;
        }
        while (true) {
            int64_t r = path[j];
            y[j] = r;
            std::swap(x[r], j);
            if (r == cur) break;
        }
    }
    return OK;
}

template <class T>
int solve_wide(const T* c, int64_t nr, int64_t nc, const double* dummy, bool finite,
               int64_t* out) {
    // requires nr <= nc when dummy == nullptr
    std::vector<int64_t> x(nr, -1), y(nc, -1);
    std::vector<double> u(nr, 0.0), v(nc, 0.0);
    std::vector<int64_t> free_rows;
    static const bool dbg = std::getenv("KGALIGN_LAP_DEBUG") != nullptr;
    auto t00 = std::chrono::steady_clock::now();
    if (finite && dummy == nullptr && nr >= 2) {
        if (nr == nc) free_rows = jv_init_square(c, nr, x, y, v);
        if (dbg) std::fprintf(stderr, "colred %.3f s, %zu free\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t00).count(), free_rows.size());
        else { free_rows.resize(nr); for (int64_t i = 0; i < nr; ++i) free_rows[i] = i; }
        jv_arr(c, nr, nc, x, y, v, free_rows);
        for (int64_t i = 0; i < nr; ++i)
            if (x[i] >= 0) u[i] = static_cast<double>(c[i * nc + x[i]]) - v[x[i]];
    } else {
        free_rows.resize(nr);
        for (int64_t i = 0; i < nr; ++i) free_rows[i] = i;
    }
    static const bool debug = std::getenv("KGALIGN_LAP_DEBUG") != nullptr;
    auto t0 = std::chrono::steady_clock::now();
    const size_t n_free = free_rows.size();
    int st = sap(c, nr, nc, dummy, x, y, u, v, free_rows);
    if (debug)
        std::fprintf(stderr, "lap_dense: %lld free rows after init, sap %.3f s\n", (long long)n_free,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (st != OK) return st;
    for (int64_t i = 0; i < nr; ++i) out[i] = x[i];
    return OK;
}

}  // namespace

template <class T>
int lap_dense(const T* cost, int64_t nr, int64_t nc, const double* unmatched, int64_t* col4row) {
    auto tq = std::chrono::steady_clock::now();
    struct Rep { std::chrono::steady_clock::time_point t; ~Rep() { if (std::getenv("KGALIGN_LAP_DEBUG")) std::fprintf(stderr, "total %.3f\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count()); } } rep{tq};
    for (int64_t i = 0; i < nr; ++i) col4row[i] = -1;
    if (nr == 0 || nc == 0) return OK;
    // scan: finite range and forbidden entries
    double lo = INF, hi = -INF;
    bool has_inf = false;
    const int64_t total = nr * nc;
    for (int64_t k = 0; k < total; ++k) {
        double h = static_cast<double>(cost[k]);
        if (h == INF) { has_inf = true; continue; }
        if (!(h == h) || h == -INF) return BAD_INPUT;
        lo = std::min(lo, h);
        hi = std::max(hi, h);
    }
    if (lo == INF) return OK;  // everything forbidden: nothing can be matched
    if (unmatched != nullptr) return solve_wide(cost, nr, nc, unmatched, !has_inf, col4row);

    // maximum cardinality, then minimum cost: a private dummy of cost M per row, with M above
    // any cost difference between matchings of different size.
    const bool tall = nr > nc;
    const int64_t r = tall ? nc : nr, q = tall ? nr : nc;
    std::vector<T> transposed;
    const T* c = cost;
    if (tall) {
        transposed.resize(static_cast<size_t>(total));
        for (int64_t i = 0; i < nr; ++i)
            for (int64_t j = 0; j < nc; ++j) transposed[j * nr + i] = cost[i * nc + j];
        c = transposed.data();
    }
    std::vector<double> big;
    if (has_inf) {
        double M = std::fabs(hi) + std::fabs(lo) + static_cast<double>(r + 1) * (hi - lo) + 1.0;
        big.assign(r, M);
    }
    std::vector<int64_t> sol(r, -1);
    int st = solve_wide(c, r, q, has_inf ? big.data() : nullptr, !has_inf, sol.data());
    if (st != OK) return st;
    if (!tall) {
        for (int64_t i = 0; i < nr; ++i) col4row[i] = sol[i];
    } else {
        for (int64_t j = 0; j < nc; ++j)
            if (sol[j] >= 0) col4row[sol[j]] = j;
    }
    return OK;
}

template int lap_dense<double>(const double*, int64_t, int64_t, const double*, int64_t*);
template int lap_dense<float>(const float*, int64_t, int64_t, const double*, int64_t*);

}  // namespace kgalign
