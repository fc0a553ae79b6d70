/*
 * Compile-time repetition for the kernel templates: RN_UNROLL(n, X) expands
 * to X(0) X(1) ... X(n-1) for a literal (or macro for a literal) n in
 * 1..16, so a template can write a register tile's rows once and take the
 * row count as a parameter.
 */
#ifndef RN_KERNELS_UNROLL_H
#define RN_KERNELS_UNROLL_H

#define RN_UNROLL(n, X) RN_UNROLL_CAT(RN_UNROLL_, n)(X)
#define RN_UNROLL_CAT(a, b) RN_UNROLL_CAT2(a, b)
#define RN_UNROLL_CAT2(a, b) a##b
#define RN_UNROLL_1(X) X(0)
#define RN_UNROLL_2(X) RN_UNROLL_1(X) X(1)
#define RN_UNROLL_3(X) RN_UNROLL_2(X) X(2)
#define RN_UNROLL_4(X) RN_UNROLL_3(X) X(3)
#define RN_UNROLL_5(X) RN_UNROLL_4(X) X(4)
#define RN_UNROLL_6(X) RN_UNROLL_5(X) X(5)
#define RN_UNROLL_7(X) RN_UNROLL_6(X) X(6)
#define RN_UNROLL_8(X) RN_UNROLL_7(X) X(7)
#define RN_UNROLL_9(X) RN_UNROLL_8(X) X(8)
#define RN_UNROLL_10(X) RN_UNROLL_9(X) X(9)
#define RN_UNROLL_11(X) RN_UNROLL_10(X) X(10)
#define RN_UNROLL_12(X) RN_UNROLL_11(X) X(11)
#define RN_UNROLL_13(X) RN_UNROLL_12(X) X(12)
#define RN_UNROLL_14(X) RN_UNROLL_13(X) X(13)
#define RN_UNROLL_15(X) RN_UNROLL_14(X) X(14)
#define RN_UNROLL_16(X) RN_UNROLL_15(X) X(15)

/* RN_UNROLL_ARG(n, X, i): X(i, 0) ... X(i, n-1), n in 1..4 (a row's vectors) */
#define RN_UNROLL_ARG(n, X, i) RN_UNROLL_CAT(RN_UNROLL_ARG_, n)(X, i)
#define RN_UNROLL_ARG_1(X, i) X(i, 0)
#define RN_UNROLL_ARG_2(X, i) RN_UNROLL_ARG_1(X, i) X(i, 1)
#define RN_UNROLL_ARG_3(X, i) RN_UNROLL_ARG_2(X, i) X(i, 2)
#define RN_UNROLL_ARG_4(X, i) RN_UNROLL_ARG_3(X, i) X(i, 3)

#endif /* RN_KERNELS_UNROLL_H */
