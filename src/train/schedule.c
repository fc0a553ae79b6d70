/*
 * Learning-rate schedules as pure functions of (step, epoch, warm-up state):
 * nothing here changes when a rate is asked for, so a resumed run gets the
 * same rates from the counters alone. The paper divides the rate by 10 at
 * 32k and 48k iterations of 64k (section 4.2) and, for ResNet-110, warms up
 * at 0.01 until the training error is below 80%; cosine annealing is the
 * common modern alternative.
 */
#include "train-internal.h"

#define RN_SCHED_MAX_LR 1e6

rn_status rn_lr_schedule_create(rn_ctx *ctx, double base_lr, rn_lr_schedule **out) {
    static const char fn[] = "rn_lr_schedule_create";
    if (!ctx) return RN_E_INVALID_ARG;
    if (!out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL out", fn);
    if (!(base_lr >= 0 && base_lr <= RN_SCHED_MAX_LR))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: base_lr %g is outside [0, %g]", fn, base_lr,
                         RN_SCHED_MAX_LR);
    rn_lr_schedule *s = (rn_lr_schedule *)rn__calloc(ctx, 1, sizeof *s);
    if (!s) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    s->ctx = ctx;
    s->base_lr = base_lr;
    s->kind = RN_SCHED_CONSTANT;
    s->gamma = 1.0;
    s->warmup_kind = RN_WARMUP_NONE;
    *out = s;
    rn__clear_error(ctx);
    return RN_OK;
}

void rn_lr_schedule_destroy(rn_lr_schedule *s) {
    if (s) rn__free(s->ctx, s);
}

rn_status rn_lr_schedule_set_constant(rn_lr_schedule *s) {
    if (!s) return RN_E_INVALID_ARG;
    s->kind = RN_SCHED_CONSTANT;
    rn__clear_error(s->ctx);
    return RN_OK;
}

static rn_status check_unit(const rn_lr_schedule *s, const char *fn, int32_t unit) {
    if (unit != RN_SCHED_UNIT_EPOCH && unit != RN_SCHED_UNIT_ITER)
        return rn__error(s->ctx, RN_E_INVALID_ARG,
                         "%s: unit %d is neither RN_SCHED_UNIT_EPOCH nor RN_SCHED_UNIT_ITER", fn,
                         (int)unit);
    return RN_OK;
}

rn_status rn_lr_schedule_set_step(rn_lr_schedule *s, int32_t unit, const int64_t *milestones,
                                  int32_t count, double gamma) {
    static const char fn[] = "rn_lr_schedule_set_step";
    if (!s) return RN_E_INVALID_ARG;
    rn_status st = check_unit(s, fn, unit);
    if (st) return st;
    if (count < 0 || count > RN_SCHED_MAX_MILESTONES || (count > 0 && !milestones))
        return rn__error(s->ctx, RN_E_INVALID_ARG,
                         "%s: %d milestones (at most %d, non-NULL when any)", fn, (int)count,
                         RN_SCHED_MAX_MILESTONES);
    for (int32_t i = 0; i < count; i++)
        if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1]))
            return rn__error(s->ctx, RN_E_INVALID_ARG,
                             "%s: milestone %d is %lld: milestones must be >= 1 and strictly "
                             "increasing",
                             fn, (int)i, (long long)milestones[i]);
    if (!(gamma > 0 && gamma <= 1))
        return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: gamma %g is outside (0, 1]", fn, gamma);
    s->kind = RN_SCHED_STEP;
    s->unit = unit;
    for (int32_t i = 0; i < count; i++) s->milestones[i] = milestones[i];
    s->nmilestones = count;
    s->gamma = gamma;
    rn__clear_error(s->ctx);
    return RN_OK;
}

rn_status rn_lr_schedule_set_cosine(rn_lr_schedule *s, int32_t unit, int64_t total, double min_lr) {
    static const char fn[] = "rn_lr_schedule_set_cosine";
    if (!s) return RN_E_INVALID_ARG;
    rn_status st = check_unit(s, fn, unit);
    if (st) return st;
    if (total < 1)
        return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: total %lld must be >= 1", fn,
                         (long long)total);
    if (!(min_lr >= 0 && min_lr <= s->base_lr))
        return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: min_lr %g is outside [0, base %g]", fn,
                         min_lr, s->base_lr);
    s->kind = RN_SCHED_COSINE;
    s->unit = unit;
    s->total = total;
    s->min_lr = min_lr;
    rn__clear_error(s->ctx);
    return RN_OK;
}

rn_status rn_lr_schedule_set_warmup(rn_lr_schedule *s, int32_t kind, double value,
                                    double warmup_lr) {
    static const char fn[] = "rn_lr_schedule_set_warmup";
    if (!s) return RN_E_INVALID_ARG;
    switch (kind) {
    case RN_WARMUP_NONE: break;
    case RN_WARMUP_ITERS:
    case RN_WARMUP_LINEAR:
        if (!(value >= 1 && value <= 1e15 && value == (double)(int64_t)value))
            return rn__error(s->ctx, RN_E_INVALID_ARG,
                             "%s: the warm-up length %g must be a whole number of iterations "
                             ">= 1",
                             fn, value);
        break;
    case RN_WARMUP_TRAIN_ERROR:
        if (!(value > 0 && value <= 1))
            return rn__error(s->ctx, RN_E_INVALID_ARG,
                             "%s: the training-error threshold %g is outside (0, 1]", fn, value);
        break;
    default:
        return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: kind %d is not an RN_WARMUP_* value", fn,
                         (int)kind);
    }
    if (kind != RN_WARMUP_NONE && !(warmup_lr >= 0 && warmup_lr <= RN_SCHED_MAX_LR))
        return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: warmup_lr %g is outside [0, %g]", fn,
                         warmup_lr, RN_SCHED_MAX_LR);
    s->warmup_kind = kind;
    s->warmup_value = kind == RN_WARMUP_NONE ? 0 : value;
    s->warmup_lr = kind == RN_WARMUP_NONE ? 0 : warmup_lr;
    rn__clear_error(s->ctx);
    return RN_OK;
}

rn_status rn_lr_schedule_get_warmup(const rn_lr_schedule *s, int32_t *kind, double *value) {
    if (!s) return RN_E_INVALID_ARG;
    if (kind) *kind = s->warmup_kind;
    if (value) *value = s->warmup_value;
    return RN_OK;
}

static double main_lr(const rn_lr_schedule *s, int64_t step, int64_t epoch) {
    int64_t t = s->unit == RN_SCHED_UNIT_ITER ? step : epoch;
    switch (s->kind) {
    case RN_SCHED_STEP: {
        /* repeated multiplication, as MultiStepLR applies gamma at each milestone */
        double lr = s->base_lr;
        for (int32_t i = 0; i < s->nmilestones && s->milestones[i] <= t; i++) lr *= s->gamma;
        return lr;
    }
    case RN_SCHED_COSINE: {
        double pi = 3.14159265358979323846;
        double frac = t >= s->total ? 1.0 : (double)t / (double)s->total;
        return s->min_lr + (s->base_lr - s->min_lr) * (1.0 + rn_cos(pi * frac)) / 2.0;
    }
    default: return s->base_lr;
    }
}

double rn__schedule_lr(const rn_lr_schedule *s, int64_t step, int64_t epoch, int32_t warmup_done) {
    double lr = main_lr(s, step, epoch);
    switch (s->warmup_kind) {
    case RN_WARMUP_ITERS: return (double)step < s->warmup_value ? s->warmup_lr : lr;
    case RN_WARMUP_LINEAR:
        if ((double)step < s->warmup_value)
            return s->warmup_lr + (lr - s->warmup_lr) * ((double)step / s->warmup_value);
        return lr;
    case RN_WARMUP_TRAIN_ERROR: return warmup_done ? lr : s->warmup_lr;
    default: return lr;
    }
}

rn_status rn_lr_schedule_lr(const rn_lr_schedule *s, int64_t step, int64_t epoch,
                            int32_t warmup_done, double *lr) {
    static const char fn[] = "rn_lr_schedule_lr";
    if (!s) return RN_E_INVALID_ARG;
    if (!lr) return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: NULL lr", fn);
    if (step < 0 || epoch < 0)
        return rn__error(s->ctx, RN_E_INVALID_ARG, "%s: step %lld and epoch %lld must be >= 0", fn,
                         (long long)step, (long long)epoch);
    *lr = rn__schedule_lr(s, step, epoch, warmup_done);
    return RN_OK;
}
