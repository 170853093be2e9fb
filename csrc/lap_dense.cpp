// Dense linear sum assignment: Jonker-Volgenant initialisation (column reduction, reduction
// transfer, bounded augmenting row reduction) followed by shortest augmenting paths (Dijkstra
// on reduced costs, as in Crouse 2016 / scipy), extended with per-row "unmatched" sinks.
//
// References: R. Jonker, A. Volgenant, "A shortest augmenting path algorithm for dense and
// sparse linear assignment problems", Computing 38 (1987) 325-340. D. F. Crouse, "On
// implementing 2D rectangular assignment algorithms", IEEE TAES 52(4) (2016) 1679-1696.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "csr.hpp"
#ifdef KGALIGN_HAVE_OPENMP
#include <omp.h>
#endif

namespace kgalign {
namespace {

constexpr double INF = std::numeric_limits<double>::infinity();

bool debug_enabled() {
    static const bool d = std::getenv("KGALIGN_LAP_DEBUG") != nullptr;
    return d;
}
double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Cost matrix seen as sgn * data (sgn = -1 turns maximisation into minimisation).
template <class T>
struct Cost {
    const T* data;
    int64_t nr, nc;
    double sgn;
    const T* row(int64_t i) const { return data + i * nc; }
    double operator()(const T* row, int64_t j) const { return sgn * static_cast<double>(row[j]); }
};

struct Scan {
    double lo = INF, hi = -INF;  // over finite entries
    bool has_pos_inf = false;
    int64_t bad = -1;            // flat index of the first NaN or -inf
};

template <class T>
Scan scan_values(const Cost<T>& C) {
    Scan s;
    const int64_t total = C.nr * C.nc;
    double lo = INF, hi = -INF;
    bool nan = false;
    for (int64_t k = 0; k < total; ++k) {
        const double h = C.sgn * static_cast<double>(C.data[k]);
        lo = h < lo ? h : lo;
        hi = h > hi ? h : hi;
        nan |= (h != h);
    }
    if (nan || lo == -INF) {
        for (int64_t k = 0; k < total; ++k) {
            const double h = C.sgn * static_cast<double>(C.data[k]);
            if (h != h || h == -INF) { s.bad = k; return s; }
        }
    }
    if (hi == INF) {
        s.has_pos_inf = true;
        hi = -INF;
        for (int64_t k = 0; k < total; ++k) {
            const double h = C.sgn * static_cast<double>(C.data[k]);
            if (h != INF) hi = std::max(hi, h);
        }
    }
    s.lo = lo;
    s.hi = hi;
    return s;
}

// Column reduction fused with the value scan (square problems). Returns false if a
// non-finite value was seen (then the caller takes the general path).
template <class T>
bool column_reduction(const Cost<T>& C, std::vector<double>& v, std::vector<int64_t>& arg) {
    const int64_t n = C.nr, m = C.nc;
    bool ok = true;
#ifdef KGALIGN_HAVE_OPENMP
    const int n_threads = (m >= 4096 && n * m >= (int64_t(1) << 25)) ? 0 : 1;  // 0: OpenMP default
#pragma omp parallel if (n_threads == 0) reduction(&& : ok)
#endif
    {
        int64_t j0 = 0, j1 = m;
#ifdef KGALIGN_HAVE_OPENMP
        const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
        j0 = m * tid / nt;
        j1 = m * (tid + 1) / nt;
#endif
        const T* r0 = C.row(0);
        bool bad = false;
        for (int64_t j = j0; j < j1; ++j) {
            v[j] = C(r0, j);
            arg[j] = 0;
            bad |= !(v[j] < INF);
        }
        for (int64_t i = 1; i < n && !bad; ++i) {
            const T* row = C.row(i);
            double* vp = v.data();
            int64_t* ap = arg.data();
            for (int64_t j = j0; j < j1; ++j) {
                const double h = C(row, j);
                bad |= !(h < INF);  // NaN or +inf
                const bool lt = h < vp[j];
                ap[j] = lt ? i : ap[j];
                vp[j] = lt ? h : vp[j];
            }
        }
        for (int64_t j = j0; j < j1; ++j) bad |= (v[j] == -INF);
        ok = !bad;
    }
    return ok;
}

// Jonker-Volgenant reduction transfer after column reduction; returns the free rows.
template <class T>
std::vector<int64_t> reduction_transfer(const Cost<T>& C, const std::vector<int64_t>& arg,
                                        std::vector<int64_t>& x, std::vector<int64_t>& y,
                                        std::vector<double>& v) {
    const int64_t n = C.nr;
    std::vector<int64_t> matches(n, 0);
    for (int64_t j = n - 1; j >= 0; --j) {
        const int64_t i = arg[j];
        if (matches[i]++ == 0) { x[i] = j; y[j] = i; }
        else { y[j] = -1; }
    }
    // Every row the column minimum of exactly one column (square problems): u = 0 and v are
    // feasible duals with zero reduced cost on every assigned pair, so the assignment is
    // already optimal and the transfer (a second pass over the matrix) can be skipped.
    if (std::find(matches.begin(), matches.end(), int64_t(0)) == matches.end()) return {};
    // u_i = mu_i = min_{j != x_i} c_ij - v_j for rows matched once, computed against the
    // column-reduction v (v only decreases afterwards, so every mu_i stays a valid u_i).
    std::vector<double> mu(n, INF);
#ifdef KGALIGN_HAVE_OPENMP
#pragma omp parallel for schedule(static) if (n >= 4096)
#endif
    for (int64_t i = 0; i < n; ++i) {
        if (matches[i] != 1) continue;
        const int64_t j1 = x[i];
        const T* row = C.row(i);
        double m_ = INF;
        for (int64_t j = 0; j < j1; ++j) { const double h = C(row, j) - v[j]; m_ = h < m_ ? h : m_; }
        for (int64_t j = j1 + 1; j < n; ++j) { const double h = C(row, j) - v[j]; m_ = h < m_ ? h : m_; }
        mu[i] = m_;
    }
    std::vector<int64_t> free_rows;
    for (int64_t i = 0; i < n; ++i) {
        if (matches[i] == 0) free_rows.push_back(i);
        else if (matches[i] == 1 && mu[i] < INF) v[x[i]] -= mu[i];  // c_ij1 - u_i - v_j1 = 0
    }
    return free_rows;
}

// Augmenting row reduction (two rounds, bounded work), valid for n_rows <= n_cols (or with a
// private dummy per row) starting from any v where every assigned row sits on a column of
// minimum c_ij - v_j (lowering v_j keeps that true) and free columns have v_j = 0 when the
// problem is rectangular. A row's dummy (cost dummy[i], price 0, never lowered) competes like
// a column; a row that takes it is settled for good (nobody else can reach it).
// Each row scan adds nc to `work`; past max_work (> 0) it returns false with x/y a valid
// partial matching.
template <class T>
bool augmenting_row_reduction(const Cost<T>& C, const double* dummy, std::vector<int64_t>& x,
                              std::vector<int64_t>& y, std::vector<double>& v,
                              std::vector<int64_t>& free_rows, int64_t& work, int64_t max_work) {
    const int64_t nr = C.nr, nc = C.nc;
    constexpr int64_t DUMMY = -2;
    if (nc < 1 || (nc < 2 && dummy == nullptr)) return true;
    const int64_t budget = 4 * nr + 16;  // beyond this the auction-like ARR stalls; SAP is faster
    for (int round = 0; round < 2 && !free_rows.empty(); ++round) {
        const int64_t n_free = static_cast<int64_t>(free_rows.size());
        int64_t current = 0, new_free = 0, rr_cnt = 0;
        while (current < n_free) {
            ++rr_cnt;
            work += nc;
            if (max_work > 0 && work > max_work) return false;
            const int64_t i = free_rows[current++];
            const T* row = C.row(i);
            double u1 = C(row, 0) - v[0], u2 = INF;
            int64_t j1 = 0, j2 = -1;
            for (int64_t j = 1; j < nc; ++j) {
                const double h = C(row, j) - v[j];
                if (h < u2) {
                    if (h >= u1) { u2 = h; j2 = j; }
                    else { u2 = u1; j2 = j1; u1 = h; j1 = j; }
                }
            }
            if (dummy != nullptr) {
                const double h = dummy[i];
                if (h < u2) {
                    if (h >= u1) { u2 = h; j2 = DUMMY; }
                    else { u2 = u1; j2 = j1; u1 = h; j1 = DUMMY; }
                }
            }
            if (j1 == DUMMY) { x[i] = -1; continue; }  // abstains: settled
            int64_t i0 = y[j1];
            const double v1_new = v[j1] - (u2 - u1);
            const bool lowers = v1_new < v[j1];
            if (rr_cnt < budget) {
                if (lowers) v[j1] = v1_new;
                else if (i0 >= 0 && j2 != -1) {
                    if (j2 == DUMMY) { x[i] = -1; continue; }  // tie with abstaining: abstain
                    j1 = j2;
                    i0 = y[j2];
                }
                if (i0 >= 0) {
                    if (lowers) free_rows[--current] = i0;
                    else free_rows[new_free++] = i0;
                }
            } else if (i0 >= 0) {
                free_rows[new_free++] = i0;
            }
            if (i0 >= 0) x[i0] = -1;
            x[i] = j1;
            y[j1] = i;
        }
        free_rows.resize(new_free);
    }
    return true;
}

// Shortest augmenting paths for the rows in free_rows. `work` counts the cells examined
// (including those of augmenting row reduction); when it passes max_work (> 0) the search stops with
// ITERATION_LIMIT and x/y hold a valid partial matching (every finished augmentation). dummy (nullable) holds the finite cost
// of leaving each row unmatched; a row that takes its dummy is dropped for good (its private
// dummy column can only be reached from itself).
// The not-yet-scanned columns are kept at positions [0, n_rem) of position-indexed arrays
// (column id, tentative distance, v, predecessor row, free flag) so that the inner loop reads
// them contiguously and gathers only the cost row.
template <class T>
Status shortest_augmenting_paths(const Cost<T>& C, const double* dummy, std::vector<int64_t>& x,
                              std::vector<int64_t>& y, std::vector<double>& u,
                              std::vector<double>& v, const std::vector<int64_t>& free_rows,
                              int64_t& work, int64_t max_work) {
    const int64_t nr = C.nr, nc = C.nc;
    std::vector<double> spc(nc, INF);           // by column, valid for scanned columns
    std::vector<int64_t> path(nc, -1);          // by column, valid for scanned columns
    std::vector<int64_t> pcol(nc), ppath(nc);   // by position
    std::vector<double> pd(nc), pv(nc);         // by position
    std::vector<char> pfree(nc);                // by position
    std::vector<int64_t> sc_list, sr_list;
    sc_list.reserve(nc);
    sr_list.reserve(nr);
    for (const int64_t cur : free_rows) {
        for (int64_t j = 0; j < nc; ++j) {
            pcol[j] = j;
            pd[j] = INF;
            pv[j] = v[j];
            pfree[j] = y[j] < 0;
        }
        int64_t n_rem = nc;
        sc_list.clear();
        sr_list.clear();
        double min_val = 0.0;
        int64_t i = cur, sink = -1, dummy_row = -1;
        double best_dummy = INF;
        int64_t best_dummy_row = -1;
        while (true) {
            work += n_rem;
            if (max_work > 0 && work > max_work) return Status::ITERATION_LIMIT;
            sr_list.push_back(i);
            if (dummy != nullptr) {
                const double cand = min_val + dummy[i] - u[i];
                if (cand < best_dummy) { best_dummy = cand; best_dummy_row = i; }
            }
            const T* row = C.row(i);
            const double base = min_val - u[i];
            double lowest = INF;
            int64_t index = -1;
            for (int64_t p = 0; p < n_rem; ++p) {
                const double r = base + C(row, pcol[p]) - pv[p];
                double d = pd[p];
                if (r < d) { ppath[p] = i; pd[p] = d = r; }
                if (d < lowest || (d == lowest && pfree[p])) { lowest = d; index = p; }
            }
            if (best_dummy < lowest) { min_val = best_dummy; dummy_row = best_dummy_row; break; }
            if (index < 0 || lowest == INF) return Status::INFEASIBLE;
            min_val = lowest;
            const int64_t j = pcol[index];
            spc[j] = pd[index];
            path[j] = ppath[index];
            const bool is_free = pfree[index];
            sc_list.push_back(j);
            --n_rem;  // move the last unscanned position into the hole
            pcol[index] = pcol[n_rem];
            pd[index] = pd[n_rem];
            pv[index] = pv[n_rem];
            ppath[index] = ppath[n_rem];
            pfree[index] = pfree[n_rem];
            if (is_free) { sink = j; break; }
            i = y[j];
        }
        // dual update
        u[cur] += min_val;
        for (const int64_t r : sr_list)
            if (r != cur) u[r] += min_val - spc[x[r]];
        for (const int64_t j : sc_list) v[j] -= min_val - spc[j];
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
            const int64_t r = path[j];
            y[j] = r;
            std::swap(x[r], j);
            if (r == cur) break;
        }
    }
    return Status::OK;
}

template <class T>
Status solve_wide(const Cost<T>& C, const double* dummy, bool finite, bool colred_done,
               std::vector<double>& v, const std::vector<int64_t>& arg, int64_t* out, int64_t max_work) {
    // requires nr <= nc when dummy == nullptr
    const int64_t nr = C.nr, nc = C.nc;
    const bool dbg = debug_enabled();
    auto t0 = std::chrono::steady_clock::now();
    std::vector<int64_t> x(nr, -1), y(nc, -1);
    std::vector<double> u(nr, 0.0);
    std::vector<int64_t> free_rows;
    int64_t work = 0;
    if ((finite || dummy != nullptr) && (nr >= 2 || dummy != nullptr)) {
        if (colred_done) {
            free_rows = reduction_transfer(C, arg, x, y, v);
        } else {
            std::fill(v.begin(), v.end(), 0.0);
            free_rows.resize(nr);
            for (int64_t i = 0; i < nr; ++i) free_rows[i] = i;
        }
        if (dbg) std::fprintf(stderr, "lap_dense: transfer %.3f s, %zu free\n", since(t0), free_rows.size());
        if (!augmenting_row_reduction(C, dummy, x, y, v, free_rows, work, max_work)) {
            for (int64_t i = 0; i < nr; ++i) out[i] = x[i];
            return Status::ITERATION_LIMIT;
        }
        if (dbg) std::fprintf(stderr, "lap_dense: arr %.3f s, %zu free\n", since(t0), free_rows.size());
        for (int64_t i = 0; i < nr; ++i)
            if (x[i] >= 0) u[i] = C(C.row(i), x[i]) - v[x[i]];
    } else {
        std::fill(v.begin(), v.end(), 0.0);
        free_rows.resize(nr);
        for (int64_t i = 0; i < nr; ++i) free_rows[i] = i;
    }
    const Status st = shortest_augmenting_paths(C, dummy, x, y, u, v, free_rows, work, max_work);
    if (dbg) std::fprintf(stderr, "lap_dense: sap done %.3f s, %lld cells examined\n", since(t0),
                          static_cast<long long>(work));
    if (st == Status::ITERATION_LIMIT) {  // hand back the partial matching
        for (int64_t i = 0; i < nr; ++i) out[i] = x[i];
        return st;
    }
    if (st != Status::OK) return st;
    for (int64_t i = 0; i < nr; ++i) out[i] = x[i];
    return Status::OK;
}

}  // namespace

template <class T>
Status lap_dense(const T* cost, int64_t nr, int64_t nc, bool maximize, const double* unmatched,
              int64_t* col4row, int64_t* bad_index, int64_t max_work) {
    *bad_index = -1;
    for (int64_t i = 0; i < nr; ++i) col4row[i] = -1;
    if (nr == 0 || nc == 0) return Status::OK;
    const double sgn = maximize ? -1.0 : 1.0;
    const Cost<T> C{cost, nr, nc, sgn};
    const bool dbg = debug_enabled();
    auto t0 = std::chrono::steady_clock::now();

    // square, no abstention: column reduction doubles as the finiteness scan
    std::vector<double> v(std::max(nr, nc), 0.0);
    std::vector<int64_t> arg(std::max(nr, nc), 0);
    if (nr == nc && unmatched == nullptr && nr >= 2) {
        if (column_reduction(C, v, arg)) {
            if (dbg) std::fprintf(stderr, "lap_dense: column reduction %.3f s\n", since(t0));
            v.resize(nc);
            return solve_wide(C, nullptr, true, true, v, arg, col4row, max_work);
        }
    }
    const Scan s = scan_values(C);
    if (s.bad >= 0) { *bad_index = s.bad; return Status::INVALID_VALUE; }
    if (s.lo == INF) return Status::OK;  // everything forbidden: nothing can be matched
    const bool finite = !s.has_pos_inf;
    if (unmatched != nullptr) {
        v.assign(nc, 0.0);
        std::vector<double> dm(unmatched, unmatched + nr);
        for (double& d : dm) d *= sgn;
        return solve_wide(C, dm.data(), finite, false, v, arg, col4row, max_work);
    }
    // maximum cardinality, then minimum cost: a private dummy of cost M per row, with M above
    // any cost difference between matchings of different size.
    const bool tall = nr > nc;
    const int64_t r = tall ? nc : nr, q = tall ? nr : nc;
    std::vector<T> transposed;
    Cost<T> D = C;
    if (tall) {
        transposed.resize(static_cast<size_t>(nr * nc));
        for (int64_t i = 0; i < nr; ++i)
            for (int64_t j = 0; j < nc; ++j) transposed[j * nr + i] = cost[i * nc + j];
        D = Cost<T>{transposed.data(), r, q, sgn};
    }
    std::vector<double> big;
    if (!finite) {
        const double M = std::fabs(s.hi) + std::fabs(s.lo) + static_cast<double>(r + 1) * (s.hi - s.lo) + 1.0;
        big.assign(r, M);
    }
    std::vector<int64_t> sol(r, -1);
    v.assign(q, 0.0);
    const Status st = solve_wide(D, finite ? nullptr : big.data(), finite, false, v, arg, sol.data(), max_work);
    if (st != Status::OK && st != Status::ITERATION_LIMIT) return st;
    if (!tall) {
        for (int64_t i = 0; i < nr; ++i) col4row[i] = sol[i];
    } else {
        for (int64_t j = 0; j < nc; ++j)
            if (sol[j] >= 0) col4row[sol[j]] = j;
    }
    return st;
}

template Status lap_dense<double>(const double*, int64_t, int64_t, bool, const double*, int64_t*, int64_t*, int64_t);
template Status lap_dense<float>(const float*, int64_t, int64_t, bool, const double*, int64_t*, int64_t*, int64_t);

}  // namespace kgalign
