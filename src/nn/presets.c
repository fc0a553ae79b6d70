/*
 * The paper's networks by name. ImageNet (Table 1, torchvision): a 7x7/2
 * pad 3 stem with a 3x3/2 pad 1 max pool, four stages of 64/128/256/512
 * filters with strides 1,2,2,2, shortcut B. CIFAR-10 (section 4.2): a 3x3
 * stem of 16 filters, no pool, three stages of n basic blocks of 16/32/64
 * filters with strides 1,2,2, shortcut A, depth 6n+2. "plain" twins have
 * no shortcut at all. The "v1" bottleneck presets stride the first 1x1 of
 * the block (the paper's and Caffe's original) instead of torchvision's 3x3.
 * resnet8 is the CIFAR layout with one block per stage and projection
 * shortcuts (B), the shape of MLPerf Tiny's image classification network
 * (its Keras reference gives its convolutions biases and its projections
 * no batch norm; ours are torchvision's basic blocks, 78,042 parameters
 * against its 78,146 trainable ones).
 */
#include "nn-internal.h"

typedef struct preset {
    const char *name;
    int32_t cifar; /* 1: CIFAR layout (3 stages), 0: ImageNet (4 stages) */
    int32_t block_type;
    int32_t blocks[4];
    int32_t plain;
    uint32_t flags;   /* RN_MODEL_* always set (the v1 bottleneck) */
    int32_t shortcut; /* RN_SHORTCUT_DEFAULT: the paper's choice (A, B or none) */
} preset;

static const preset presets[] = {
    {"resnet18", 0, RN_BLOCK_BASIC, {2, 2, 2, 2}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet34", 0, RN_BLOCK_BASIC, {3, 4, 6, 3}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet50", 0, RN_BLOCK_BOTTLENECK, {3, 4, 6, 3}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet101", 0, RN_BLOCK_BOTTLENECK, {3, 4, 23, 3}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet152", 0, RN_BLOCK_BOTTLENECK, {3, 8, 36, 3}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet50v1",
     0,
     RN_BLOCK_BOTTLENECK,
     {3, 4, 6, 3},
     0,
     RN_MODEL_STRIDE_ON_1X1,
     RN_SHORTCUT_DEFAULT},
    {"resnet101v1",
     0,
     RN_BLOCK_BOTTLENECK,
     {3, 4, 23, 3},
     0,
     RN_MODEL_STRIDE_ON_1X1,
     RN_SHORTCUT_DEFAULT},
    {"resnet152v1",
     0,
     RN_BLOCK_BOTTLENECK,
     {3, 8, 36, 3},
     0,
     RN_MODEL_STRIDE_ON_1X1,
     RN_SHORTCUT_DEFAULT},
    {"plain18", 0, RN_BLOCK_BASIC, {2, 2, 2, 2}, 1, 0, RN_SHORTCUT_DEFAULT},
    {"plain34", 0, RN_BLOCK_BASIC, {3, 4, 6, 3}, 1, 0, RN_SHORTCUT_DEFAULT},
    {"resnet8", 1, RN_BLOCK_BASIC, {1, 1, 1, 0}, 0, 0, RN_SHORTCUT_B},
    {"resnet20", 1, RN_BLOCK_BASIC, {3, 3, 3, 0}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet32", 1, RN_BLOCK_BASIC, {5, 5, 5, 0}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet44", 1, RN_BLOCK_BASIC, {7, 7, 7, 0}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet56", 1, RN_BLOCK_BASIC, {9, 9, 9, 0}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet110", 1, RN_BLOCK_BASIC, {18, 18, 18, 0}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"resnet1202", 1, RN_BLOCK_BASIC, {200, 200, 200, 0}, 0, 0, RN_SHORTCUT_DEFAULT},
    {"plain20", 1, RN_BLOCK_BASIC, {3, 3, 3, 0}, 1, 0, RN_SHORTCUT_DEFAULT},
    {"plain32", 1, RN_BLOCK_BASIC, {5, 5, 5, 0}, 1, 0, RN_SHORTCUT_DEFAULT},
    {"plain44", 1, RN_BLOCK_BASIC, {7, 7, 7, 0}, 1, 0, RN_SHORTCUT_DEFAULT},
    {"plain56", 1, RN_BLOCK_BASIC, {9, 9, 9, 0}, 1, 0, RN_SHORTCUT_DEFAULT},
    {"plain110", 1, RN_BLOCK_BASIC, {18, 18, 18, 0}, 1, 0, RN_SHORTCUT_DEFAULT},
};

#define NUM_PRESETS ((int32_t)(sizeof presets / sizeof presets[0]))

int32_t rn_preset_count(void) { return NUM_PRESETS; }

const char *rn_preset_name(int32_t index) {
    return index >= 0 && index < NUM_PRESETS ? presets[index].name : NULL;
}

static rn_status create_preset(rn_ctx *ctx, const char *fn, const char *name, int32_t classes,
                               int32_t in_channels, int32_t shortcut, int32_t base_width,
                               uint32_t flags, int32_t in_place, int32_t no_derived,
                               rn_model **out) {
    if (!ctx || !name || !out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    const preset *p = NULL;
    for (int32_t i = 0; i < NUM_PRESETS; i++)
        if (rn_strcmp(presets[i].name, name) == 0) p = &presets[i];
    if (!p)
        return rn__error(ctx, RN_E_NOT_FOUND,
                         "%s: unknown preset \"%s\" (resnet18/34/50/101/152, "
                         "resnet50v1/101v1/152v1, plain18/34, "
                         "resnet8/20/32/44/56/110/1202, plain20/32/44/56/110)",
                         fn, name);
    if (classes < 0 || in_channels < 0 || base_width < 0)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: classes %d, in_channels %d and base_width %d must be >= 0 "
                         "(0 keeps the preset's value)",
                         fn, (int)classes, (int)in_channels, (int)base_width);
    if (shortcut < RN_SHORTCUT_DEFAULT || shortcut > RN_SHORTCUT_NONE)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: shortcut %d is not an RN_SHORTCUT_* value", fn,
                         (int)shortcut);
    int32_t stages = p->cifar ? 3 : 4;
    if (classes == 0) classes = p->cifar ? 10 : 1000;
    if (in_channels == 0) in_channels = 3;
    if (base_width == 0) base_width = p->cifar ? 16 : 64;
    /* the last stage has 2^(stages-1) * base filters, x4 in a bottleneck */
    int64_t widest = (int64_t)base_width << (stages - 1);
    if (p->block_type == RN_BLOCK_BOTTLENECK) widest *= 4;
    if (widest > RN_NN_MAX_CHANNELS)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: base_width %d makes the last stage %lld channels wide (max %d)", fn,
                         (int)base_width, (long long)widest, RN_NN_MAX_CHANNELS);
    if (shortcut == RN_SHORTCUT_DEFAULT) shortcut = p->shortcut;
    if (shortcut == RN_SHORTCUT_DEFAULT)
        shortcut = p->plain ? RN_SHORTCUT_NONE : p->cifar ? RN_SHORTCUT_A : RN_SHORTCUT_B;

    flags |= p->flags;
    rn_model *m = NULL;
    rn__arena_mark mark = rn__arena_save(ctx);
    rn_status st = rn_model_create(ctx, in_channels, &m);
    if (st) {
        rn__arena_restore(ctx, mark);
        return st;
    }
    m->in_place = in_place;
    m->no_derived = no_derived;
    if (p->cifar)
        st = rn_model_add_stem(m, base_width, 3, 1, 1, 0);
    else
        st = rn_model_add_stem(m, base_width, 7, 2, 3, 1);
    for (int32_t s = 0; s < stages && st == RN_OK; s++)
        st = rn_model_add_stage(m, p->block_type, p->blocks[s], base_width << s, s == 0 ? 1 : 2,
                                shortcut, flags);
    if (st == RN_OK) st = rn_model_add_head(m, classes);
    if (st) {
        rn_model_destroy(m);
        rn__arena_restore(ctx, mark);
        return st;
    }
    m->preset = p->name;
    m->preset_classes = classes, m->preset_in = in_channels;
    m->preset_shortcut = shortcut, m->preset_width = base_width, m->preset_flags = flags;
    *out = m;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_model_create_preset(rn_ctx *ctx, const char *name, int32_t classes,
                                 int32_t in_channels, int32_t shortcut, int32_t base_width,
                                 uint32_t flags, rn_model **out) {
    return create_preset(ctx, "rn_model_create_preset", name, classes, in_channels, shortcut,
                         base_width, flags, 0, 0, out);
}

rn_status rn__model_create_preset_in_place(rn_ctx *ctx, const char *name, int32_t classes,
                                           int32_t in_channels, int32_t shortcut,
                                           int32_t base_width, uint32_t flags, int32_t no_derived,
                                           rn_model **out) {
    return create_preset(ctx, "rn_model_create_from_blob", name, classes, in_channels, shortcut,
                         base_width, flags, 1, no_derived, out);
}
