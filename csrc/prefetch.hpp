// KGALIGN_PREFETCH(p): a read prefetch hint for the cache line holding p. GCC/Clang:
// __builtin_prefetch; MSVC on x86/x64: _mm_prefetch (T0); elsewhere a no-op (the hint only
// changes speed, never results).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define KGALIGN_PREFETCH(p) __builtin_prefetch(static_cast<const void*>(p))
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#define KGALIGN_PREFETCH(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0)
#else
#define KGALIGN_PREFETCH(p) ((void)(p))
#endif
