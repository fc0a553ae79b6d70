/*
 * The atomics the thread pool needs, behind one small set of names: GCC's
 * __atomic builtins (gcc >= 4.7 and clang, in C99 mode too), since the
 * library is C99 and <stdatomic.h> is C11. A compiler without them defines
 * no RN_HAVE_ATOMICS, and the build then has no pool (threads come from
 * OpenMP, a caller-supplied parallel-for, or nowhere).
 */
#ifndef RN_ATOMIC_H
#define RN_ATOMIC_H

#include "rn_deps.h"

#if defined(__GNUC__) || defined(__clang__)
#if defined(__ATOMIC_ACQUIRE) && defined(__GCC_ATOMIC_INT_LOCK_FREE)
#define RN_HAVE_ATOMICS 1

#define RN_RELAXED __ATOMIC_RELAXED
#define RN_ACQUIRE __ATOMIC_ACQUIRE
#define RN_RELEASE __ATOMIC_RELEASE
#define RN_SEQ_CST __ATOMIC_SEQ_CST

#define rn__atomic_load(p, order) __atomic_load_n((p), (order))
#define rn__atomic_store(p, v, order) __atomic_store_n((p), (v), (order))
#define rn__atomic_fetch_add(p, v, order) __atomic_fetch_add((p), (v), (order))
#define rn__atomic_fetch_sub(p, v, order) __atomic_fetch_sub((p), (v), (order))
/* Strong compare-and-swap: *p == *expected ? (*p = desired, 1)
 * : (*expected = *p, 0). */
#define rn__atomic_cas(p, expected, desired, order) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, (order), RN_RELAXED)

/* A hint inside spin loops: lets the sibling hyperthread run and saves power. */
#if defined(__x86_64__) || defined(__i386__)
#define rn__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
#define rn__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define rn__cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

#endif
#endif

#endif /* RN_ATOMIC_H */
