// The one status vocabulary of the kgalign matching core. Every solver returns a Status; the
// binding (bindings.cpp) passes it to Python as an int inside the one reply shape
// (status, where, result), and kgalign/matching/_status.py is the one place that turns a
// status into an exception. Each code has exactly one meaning; `where` says where it applies.
#pragma once

namespace kgalign {

enum class Status : int {
    OK = 0,
    // no augmenting path left although a row must be matched (dense solver; cannot happen
    // while every row may stay unmatched or has a finite cell, kept as a defensive check)
    INFEASIBLE = 1,
    // a value the solver cannot use: NaN, or an infinity of the forbidden sign;
    // where = flat (row-major) index of the first such value
    INVALID_VALUE = 2,
    // a given matching is not one: a column out of range or used twice, or a pair that is
    // not stored in the sparse matrix; where = the row
    INVALID_MATCHING = 3,
    // arguments inconsistent with each other (array sizes, k, a missing per-row array);
    // Python validates first, so this is an internal error; where = 0-based argument position
    INVALID_ARGUMENT = 4,
    // the caller's cap on work (auction bids, cells examined by the dense solver) was reached
    // before convergence
    ITERATION_LIMIT = 5,
};

inline constexpr int code(Status s) { return static_cast<int>(s); }

}  // namespace kgalign
