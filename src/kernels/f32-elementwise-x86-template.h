/*
 * The element-wise kernels of the x86 tables (contracts in kernels.h),
 * written once over the vector vocabulary of avx2/simd-avx2.h or
 * avx512/simd-avx512.h, which the including file (f32-elementwise-<isa>.c,
 * compiled with its ISA's flags) includes first. RN_V_W floats per vector;
 * a channel or array tail of w < RN_V_W lanes goes through a lane mask,
 * which neither reads nor writes the lanes past it.
 *
 * Every kernel does the scalar kernel's arithmetic lane by lane, in its
 * order and rounding (a product is rounded before the sum it feeds; the
 * batch-norm sums are taken in double, row by row), so every ISA gives the
 * scalar results bit for bit. The ReLU is max(0, v) with the value as the
 * second operand, which keeps NaN (the second operand wins on unordered)
 * and -0 as "v < 0 ? 0 : v" does.
 */
#include "kernels.h"

#define RN_EW_CAT2(a, b) a##__##b
#define RN_EW_CAT(a, b) RN_EW_CAT2(a, b)
#define RN_EW_NAME(base) RN_EW_CAT(base, RN_V_SUFFIX)
#define RN_EW_TAIL(n, i) RN_V_MASK((n) - (i) < RN_V_W ? (n) - (i) : RN_V_W)

/* The batch-norm sums widen RN_V_W floats to two vectors of RN_V_W / 2
 * doubles, lo and hi, under the double masks mlo and mhi. */
#define RN_EW_LOAD_D2(lo, hi, p) \
    RN_VD lo = RN_VD_LOADM(p, mlo), hi = RN_VD_LOADM((p) + RN_V_W / 2, mhi)
#define RN_EW_STORE_D2(p, lo, hi) \
    RN_VD_STOREM(p, mlo, lo);     \
    RN_VD_STOREM((p) + RN_V_W / 2, mhi, hi)
/* s += u and t += u * v, both halves */
#define RN_EW_ACCUMULATE_D2(s, t, u, v)                \
    s##lo = RN_VD_ADD(s##lo, u##lo);                   \
    s##hi = RN_VD_ADD(s##hi, u##hi);                   \
    t##lo = RN_VD_ADD(t##lo, RN_VD_MUL(u##lo, v##lo)); \
    t##hi = RN_VD_ADD(t##hi, RN_VD_MUL(u##hi, v##hi))

/* batch-norm statistics: per channel, the sum of x - shift and of its square */
void RN_EW_NAME(rn_f32_bn_stats)(RN_BN_STATS_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += RN_V_W) {
        const size_t w = nc - c0 < RN_V_W ? nc - c0 : RN_V_W;
        const RN_VM m = RN_V_MASK(w);
        const RN_VMD mlo = RN_VD_MASK_LO(m, w), mhi = RN_VD_MASK_HI(m, w);
        const RN_EW_LOAD_D2(shlo, shhi, shift + c0);
        RN_EW_LOAD_D2(slo, shi, sum + c0);
        RN_EW_LOAD_D2(qlo, qhi, sumsq + c0);
        const float *p = x + c0;
        for (size_t r = 0; r < rows; r++, p += stride) {
            const RN_V v = RN_V_LOADM(p, m);
            const RN_VD vlo = RN_VD_SUB(RN_V_CVT_LO(v), shlo);
            const RN_VD vhi = RN_VD_SUB(RN_V_CVT_HI(v), shhi);
            RN_EW_ACCUMULATE_D2(s, q, v, v);
        }
        RN_EW_STORE_D2(sum + c0, slo, shi);
        RN_EW_STORE_D2(sumsq + c0, qlo, qhi);
    }
}

/* batch-norm apply: y = x * a + b (+ the residual r), then the fused ReLU */
void RN_EW_NAME(rn_f32_bn_apply)(RN_BN_APPLY_ARGS) {
    /* relu folds into the lower bound: -inf leaves every value (and NaN) alone */
    const RN_V lo = relu ? RN_V_ZERO() : RN_V_SET1(-__builtin_inff());
    for (size_t c0 = 0; c0 < nc; c0 += RN_V_W) {
        const size_t w = nc - c0 < RN_V_W ? nc - c0 : RN_V_W;
        const RN_VM m = RN_V_MASK(w);
        const RN_V va = RN_V_LOADM(a + c0, m), vb = RN_V_LOADM(b + c0, m);
        const float *in = x + c0;
        float *out = y + c0;
        if (r) {
            const float *res = r + c0;
            for (size_t row = 0; row < rows; row++, in += stride, out += stride, res += stride) {
                const RN_V v = RN_V_ADD(RN_V_MUL(RN_V_LOADM(in, m), va), vb);
                RN_V_STOREM(out, m, RN_V_MAX(lo, RN_V_ADD(v, RN_V_LOADM(res, m))));
            }
        } else if (w == RN_V_W) {
            for (size_t row = 0; row < rows; row++, in += stride, out += stride) {
                const RN_V v = RN_V_ADD(RN_V_MUL(RN_V_LOAD(in), va), vb);
                RN_V_STORE(out, RN_V_MAX(lo, v));
            }
        } else {
            for (size_t row = 0; row < rows; row++, in += stride, out += stride) {
                const RN_V v = RN_V_ADD(RN_V_MUL(RN_V_LOADM(in, m), va), vb);
                RN_V_STOREM(out, m, RN_V_MAX(lo, v));
            }
        }
    }
}

/* the gradient dy, zero where the fused ReLU's output was not > 0 (an
 * ordered compare: NaN gives 0): its output relu_y, or where that is not
 * given and ma is, its input recomputed from x, (x * ma) + mb, rounded as
 * bn_apply rounds it */
#define RN_EW_RELU_GRAD(g, xv, relu_y, off, m)                                            \
    if (relu_y)                                                                           \
        g = RN_V_KEEP(RN_V_CMP(RN_V_LOADM(relu_y + off, m), RN_V_ZERO(), _CMP_GT_OQ), g); \
    else if (ma)                                                                          \
    g = RN_V_KEEP(RN_V_CMP(RN_V_ADD(RN_V_MUL(xv, vma), vmb), RN_V_ZERO(), _CMP_GT_OQ), g)

/* batch-norm backward reductions: the masked gradient g and g * (x - mean),
 * summed per channel in double */
void RN_EW_NAME(rn_f32_bn_grad_sums)(RN_BN_GRAD_SUMS_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += RN_V_W) {
        const size_t w = nc - c0 < RN_V_W ? nc - c0 : RN_V_W;
        const RN_VM m = RN_V_MASK(w);
        const RN_VMD mlo = RN_VD_MASK_LO(m, w), mhi = RN_VD_MASK_HI(m, w);
        const RN_V meanv = RN_V_LOADM(mean + c0, m);
        const RN_VD mnlo = RN_V_CVT_LO(meanv), mnhi = RN_V_CVT_HI(meanv);
        const RN_V vma = ma ? RN_V_LOADM(ma + c0, m) : RN_V_ZERO();
        const RN_V vmb = ma ? RN_V_LOADM(mb + c0, m) : RN_V_ZERO();
        RN_EW_LOAD_D2(slo, shi, sum + c0);
        RN_EW_LOAD_D2(xlo, xhi, sum_gx + c0);
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            RN_V g = RN_V_LOADM(dy + off, m);
            const RN_V xv = RN_V_LOADM(x + off, m);
            RN_EW_RELU_GRAD(g, xv, relu_y, off, m);
            const RN_VD glo = RN_V_CVT_LO(g), ghi = RN_V_CVT_HI(g);
            const RN_VD dlo = RN_VD_SUB(RN_V_CVT_LO(xv), mnlo);
            const RN_VD dhi = RN_VD_SUB(RN_V_CVT_HI(xv), mnhi);
            RN_EW_ACCUMULATE_D2(s, x, g, d);
        }
        RN_EW_STORE_D2(sum + c0, slo, shi);
        RN_EW_STORE_D2(sum_gx + c0, xlo, xhi);
    }
}

/* batch-norm backward input: dx = (a * g - b) - k * (x - mean) */
void RN_EW_NAME(rn_f32_bn_grad_input)(RN_BN_GRAD_INPUT_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += RN_V_W) {
        const size_t w = nc - c0 < RN_V_W ? nc - c0 : RN_V_W;
        const RN_VM m = RN_V_MASK(w);
        const RN_V va = RN_V_LOADM(a + c0, m), vb = RN_V_LOADM(b + c0, m);
        const RN_V vk = RN_V_LOADM(k + c0, m), vm = RN_V_LOADM(mean + c0, m);
        const RN_V vma = ma ? RN_V_LOADM(ma + c0, m) : RN_V_ZERO();
        const RN_V vmb = ma ? RN_V_LOADM(mb + c0, m) : RN_V_ZERO();
        size_t off = c0;
        for (size_t r = 0; r < rows; r++, off += stride) {
            RN_V g = RN_V_LOADM(dy + off, m);
            const RN_V xv = RN_V_LOADM(x + off, m);
            RN_EW_RELU_GRAD(g, xv, relu_y, off, m);
            const RN_V d = RN_V_SUB(xv, vm);
            const RN_V v = RN_V_SUB(RN_V_SUB(RN_V_MUL(va, g), vb), RN_V_MUL(vk, d));
            RN_V_STOREM(dx + off, m, v);
        }
    }
}

/* ReLU: max(0, x); four vectors per step, then a masked tail */
void RN_EW_NAME(rn_f32_relu)(RN_RELU_ARGS) {
    const RN_V zero = RN_V_ZERO();
    size_t i = 0;
    for (; i + 4 * RN_V_W <= n; i += 4 * RN_V_W)
        for (size_t j = i; j < i + 4 * RN_V_W; j += RN_V_W)
            RN_V_STORE(y + j, RN_V_MAX(zero, RN_V_LOAD(x + j)));
    for (; i < n; i += RN_V_W) {
        const RN_VM m = RN_EW_TAIL(n, i);
        RN_V_STOREM(y + i, m, RN_V_MAX(zero, RN_V_LOADM(x + i, m)));
    }
}

/* ReLU backward: dx = g (dy, or dy + dy2) where y > 0 (ordered: NaN in y
 * gives 0), else 0, branch-free */
void RN_EW_NAME(rn_f32_relu_backward)(RN_RELU_BACKWARD_ARGS) {
    const RN_V zero = RN_V_ZERO();
    size_t i = 0;
    if (dy2) {
        for (; i + 4 * RN_V_W <= n; i += 4 * RN_V_W)
            for (size_t j = i; j < i + 4 * RN_V_W; j += RN_V_W) {
                const RN_VP pos = RN_V_CMP(RN_V_LOAD(y + j), zero, _CMP_GT_OQ);
                const RN_V g = RN_V_ADD(RN_V_LOAD(dy + j), RN_V_LOAD(dy2 + j));
                RN_V_STORE(dx + j, RN_V_KEEP(pos, g));
            }
        for (; i < n; i += RN_V_W) {
            const RN_VM m = RN_EW_TAIL(n, i);
            const RN_VP pos = RN_V_CMP(RN_V_LOADM(y + i, m), zero, _CMP_GT_OQ);
            const RN_V g = RN_V_ADD(RN_V_LOADM(dy + i, m), RN_V_LOADM(dy2 + i, m));
            RN_V_STOREM(dx + i, m, RN_V_KEEP(pos, g));
        }
        return;
    }
    for (; i + 4 * RN_V_W <= n; i += 4 * RN_V_W)
        for (size_t j = i; j < i + 4 * RN_V_W; j += RN_V_W) {
            const RN_VP pos = RN_V_CMP(RN_V_LOAD(y + j), zero, _CMP_GT_OQ);
            RN_V_STORE(dx + j, RN_V_KEEP(pos, RN_V_LOAD(dy + j)));
        }
    for (; i < n; i += RN_V_W) {
        const RN_VM m = RN_EW_TAIL(n, i);
        const RN_VP pos = RN_V_CMP(RN_V_LOADM(y + i, m), zero, _CMP_GT_OQ);
        RN_V_STOREM(dx + i, m, RN_V_KEEP(pos, RN_V_LOADM(dy + i, m)));
    }
}

/* residual addition: y = a + b, then the optional ReLU */
void RN_EW_NAME(rn_f32_add)(RN_ADD_ARGS) {
    /* relu folds into the lower bound: -inf leaves every sum (and NaN) alone */
    const RN_V lo = relu ? RN_V_ZERO() : RN_V_SET1(-__builtin_inff());
    size_t i = 0;
    for (; i + 4 * RN_V_W <= n; i += 4 * RN_V_W)
        for (size_t j = i; j < i + 4 * RN_V_W; j += RN_V_W)
            RN_V_STORE(y + j, RN_V_MAX(lo, RN_V_ADD(RN_V_LOAD(a + j), RN_V_LOAD(b + j))));
    for (; i < n; i += RN_V_W) {
        const RN_VM m = RN_EW_TAIL(n, i);
        const RN_V v = RN_V_ADD(RN_V_LOADM(a + i, m), RN_V_LOADM(b + i, m));
        RN_V_STOREM(y + i, m, RN_V_MAX(lo, v));
    }
}

/* The max-pool window's running maximum of the lanes m (all channels
 * c0.. of the window's first cell onwards): a cell takes over where v > m,
 * or where v is NaN and m is not, exactly the scalar rule (a plain max
 * would lose the first-maximum and NaN semantics). */
#define RN_EW_WINDOW_MAX(m, lanes)                                                             \
    RN_V m = RN_V_LOADM(x + c0, lanes);                                                        \
    for (size_t iy = 0; iy < wh; iy++)                                                         \
        for (size_t ix = 0; ix < ww; ix++) {                                                   \
            const RN_V v = RN_V_LOADM(x + iy * row_stride + ix * pix_stride + c0, lanes);      \
            const RN_VP takes =                                                                \
                RN_VP_OR(RN_V_CMP(v, m, _CMP_GT_OQ),                                           \
                         RN_VP_AND(RN_V_CMP(v, v, _CMP_UNORD_Q), RN_V_CMP(m, m, _CMP_ORD_Q))); \
            m = RN_V_SELECT(takes, m, v);                                                      \
        }

/* max pool: one window, RN_V_W channels per vector */
void RN_EW_NAME(rn_f32_maxpool)(RN_MAXPOOL_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += RN_V_W) {
        const RN_VM lanes = RN_EW_TAIL(nc, c0);
        RN_EW_WINDOW_MAX(m, lanes)
        RN_V_STOREM(y + c0, lanes, m);
    }
}

/* max-pool backward: the forward rule's winner is the first cell equal to
 * the window maximum (or the first NaN when the maximum is NaN). A first
 * pass finds the maximum, a second adds g to the first cell that matches
 * it, lane by lane, until every lane has found its cell. With
 * RN_V_WHOLE_ROW_ADD (AVX-512) the cell's whole row of lanes is stored back
 * (the unhit ones unchanged) when it is all ours: a store masked by the
 * hits would not forward to the next window's load of the same cell.
 * Otherwise (AVX2) the hit lanes are loaded and stored through the hits. */
void RN_EW_NAME(rn_f32_maxpool_backward)(RN_MAXPOOL_BACKWARD_ARGS) {
    for (size_t c0 = 0; c0 < nc; c0 += RN_V_W) {
        const size_t w = nc - c0 < RN_V_W ? nc - c0 : RN_V_W;
        const RN_VM lanes = RN_V_MASK(w);
        RN_EW_WINDOW_MAX(m, lanes)
        const RN_VP m_nan = RN_V_CMP(m, m, _CMP_UNORD_Q);
        const RN_V gv = RN_V_LOADM(g + c0, lanes);
        RN_VP todo = RN_VP_FROM_MASK(lanes);
        int left = 1; /* some lane still looks for its maximum */
        for (size_t iy = 0; iy < wh && left; iy++)
            for (size_t ix = 0; ix < ww && left; ix++) {
                const size_t off = iy * row_stride + ix * pix_stride + c0;
                const RN_V v = RN_V_LOADP(x + off, todo);
                const RN_VP hit =
                    RN_VP_AND(todo, RN_VP_OR(RN_V_CMP(v, m, _CMP_EQ_OQ),
                                             RN_VP_AND(RN_V_CMP(v, v, _CMP_UNORD_Q), m_nan)));
#if RN_V_WHOLE_ROW_ADD
                if (RN_VP_ANY(hit)) {
                    const RN_V d = RN_V_LOADM(dx + off, lanes);
                    const RN_V d2 = RN_V_SELECT(hit, d, RN_V_ADD(d, gv));
                    if (w == RN_V_W)
                        RN_V_STORE(dx + off, d2);
                    else
                        RN_V_STOREM(dx + off, lanes, d2);
                }
#else
                const RN_VM hm = RN_VM_FROM_PRED(hit);
                RN_V_STOREM(dx + off, hm, RN_V_ADD(RN_V_LOADM(dx + off, hm), gv));
#endif
                todo = RN_VP_CLEAR(todo, hit);
                left = RN_VP_ANY(todo);
            }
    }
}

#undef RN_EW_CAT2
#undef RN_EW_CAT
#undef RN_EW_NAME
#undef RN_EW_TAIL
#undef RN_EW_RELU_GRAD
#undef RN_EW_LOAD_D2
#undef RN_EW_STORE_D2
#undef RN_EW_ACCUMULATE_D2
#undef RN_EW_WINDOW_MAX
