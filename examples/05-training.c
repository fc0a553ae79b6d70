/*
 * Example 5, training with train.h: a tiny residual network, spelled out
 * with the builder, learns a rule from synthetic images (the colour of a
 * small bright square decides the class, wherever the square is). The
 * paper's recipe in miniature: a held-out validation split, per-channel
 * normalisation from the training images, pad + random crop + flip,
 * SGD with momentum 0.9 and weight decay 1e-4, a cosine schedule.
 * The training loss must drop and the validation error must beat chance.
 * Walked through in docs/api.md.
 */
#include <resnet.h>

#include <stdio.h>

static int finish(int ok) {
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}

#define TRY(call)                                                             \
    do {                                                                      \
        rn_status st_ = (call);                                               \
        if (st_ != RN_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    rn_status_string(st_), rn_last_error(ctx));               \
            return finish(0);                                                 \
        }                                                                     \
    } while (0)

#define IMAGES 192
#define VAL 48
#define SIDE 8
#define CHANNELS 3
#define CLASSES 3
#define EPOCHS 6
#define BATCH 16

/* The data set: noise, plus a 3x3 square whose colour (red, green or blue)
 * is the label, at a random place. Flips and crops keep the rule true. */
static unsigned long long seed = 7;
static unsigned next_u(unsigned bound) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((seed >> 33) % bound);
}
static void make_images(uint8_t *images, int32_t *labels) {
    for (int i = 0; i < IMAGES; i++) {
        const int label = (int)next_u(CLASSES);
        const int sy = (int)next_u(SIDE - 2), sx = (int)next_u(SIDE - 2);
        labels[i] = label;
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++)
                for (int c = 0; c < CHANNELS; c++) {
                    const int in_square = y >= sy && y < sy + 3 && x >= sx && x < sx + 3;
                    const unsigned v = next_u(90) + (in_square && c == label ? 150u : 0u);
                    images[((i * SIDE + y) * SIDE + x) * CHANNELS + c] = (uint8_t)v;
                }
    }
}

int main(void) {
    static uint8_t images[IMAGES * SIDE * SIDE * CHANNELS];
    static int32_t labels[IMAGES];
    int64_t train_idx[IMAGES - VAL], val_idx[VAL];
    rn_ctx *ctx = NULL;
    rn_model *model = NULL;
    rn_dataset *all = NULL, *train = NULL, *val = NULL;
    rn_optimizer *sgd = NULL;
    rn_lr_schedule *schedule = NULL;
    rn_trainer *trainer = NULL;
    make_images(images, labels);
    TRY(rn_ctx_create(&ctx));

    /* ---- the network, block by block -------------------------------------------
     * stem: 3x3 conv to 8 channels + BN + ReLU, no max pool; two stages of
     * one basic block each (8 channels, then 16 at stride 2, option A);
     * global average pool + fc to 3 classes. */
    TRY(rn_model_create(ctx, CHANNELS, &model));
    TRY(rn_model_add_stem(model, 8, 3, 1, 1, 0));
    TRY(rn_model_add_stage(model, RN_BLOCK_BASIC, 1, 8, 1, RN_SHORTCUT_A, 0));
    TRY(rn_model_add_stage(model, RN_BLOCK_BASIC, 1, 16, 2, RN_SHORTCUT_A, 0));
    TRY(rn_model_add_head(model, CLASSES));
    TRY(rn_model_init(model, 1));
    int64_t params = 0;
    TRY(rn_model_num_parameters(model, &params));
    printf("network: %lld parameters\n", (long long)params);

    /* ---- data: borrowed arrays, a validation split, normalisation ---------------- */
    TRY(rn_dataset_create(ctx, images, labels, IMAGES, SIDE, SIDE, CHANNELS, CLASSES, &all));
    TRY(rn_data_split(ctx, 2015, IMAGES, VAL, train_idx, val_idx));
    TRY(rn_dataset_create_view(all, train_idx, IMAGES - VAL, &train));
    TRY(rn_dataset_create_view(all, val_idx, VAL, &val));
    /* Statistics come from the training images only and are reused as they
     * are for validation, as the paper does with its per-pixel mean. */
    float mean[CHANNELS], std[CHANNELS];
    int32_t norm = 0;
    TRY(rn_dataset_compute_normalization(train, RN_NORM_CHANNEL));
    TRY(rn_dataset_get_normalization(train, &norm, mean, CHANNELS, std, CHANNELS));
    TRY(rn_dataset_set_normalization(val, norm, mean, CHANNELS, std, CHANNELS));
    printf("data: %d training and %d validation images; channel means %.3f %.3f %.3f\n",
           IMAGES - VAL, VAL, (double)mean[0], (double)mean[1], (double)mean[2]);

    double loss_before = 0.0, loss_after = 0.0;
    int64_t errors_before = 0, errors_after = 0;
    TRY(rn_evaluate(model, val, 32, &loss_before, &errors_before, NULL, 0));

    /* ---- optimiser, schedule, trainer ------------------------------------------- */
    TRY(rn_sgd_create(model, &sgd)); /* lr 0.1, momentum 0.9, weight decay 1e-4 */
    TRY(rn_lr_schedule_create(ctx, 0.1, &schedule));
    TRY(rn_lr_schedule_set_cosine(schedule, RN_SCHED_UNIT_EPOCH, EPOCHS, 0.0));
    TRY(rn_trainer_create(model, sgd, schedule, train, &trainer));
    TRY(rn_trainer_set_int(trainer, RN_TRAIN_BATCH, BATCH));
    TRY(rn_trainer_set_int(trainer, RN_TRAIN_AUG_PAD, 1)); /* the paper pads 4 for 32x32 */
    TRY(rn_trainer_set_int(trainer, RN_TRAIN_SEED, 3));

    double first_epoch_loss = 0.0, last_epoch_loss = 0.0;
    double lr = 0.0;
    for (int64_t epoch = 0; epoch < EPOCHS;) {
        int32_t epoch_end = 0;
        int64_t batch_in_epoch = 0;
        TRY(rn_trainer_progress(trainer, NULL, NULL, &batch_in_epoch, NULL));
        if (batch_in_epoch == 0) TRY(rn_trainer_lr(trainer, &lr, NULL)); /* this epoch's rate */
        TRY(rn_trainer_step(trainer, NULL, &epoch_end)); /* one batch: forward, backward, SGD */
        if (!epoch_end) continue;
        double mean_loss = 0.0;
        int64_t wrong = 0, seen = 0;
        TRY(rn_trainer_epoch_stats(trainer, &mean_loss, &wrong, &seen));
        printf("epoch %lld: lr %.4f, training loss %.4f, training error %lld/%lld\n",
               (long long)epoch + 1, lr, mean_loss, (long long)wrong, (long long)seen);
        if (epoch == 0) first_epoch_loss = mean_loss;
        last_epoch_loss = mean_loss;
        epoch++;
    }
    TRY(rn_evaluate(model, val, 32, &loss_after, &errors_after, NULL, 0));
    printf("validation: loss %.4f -> %.4f, errors %lld/%d -> %lld/%d (chance: %d)\n", loss_before,
           loss_after, (long long)errors_before, VAL, (long long)errors_after, VAL,
           VAL * (CLASSES - 1) / CLASSES);

    /* The rule is learnable: the training loss must fall well below its
     * first-epoch mean, and the held-out images must be classified far
     * better than chance (2/3 wrong). */
    const int ok = last_epoch_loss < 0.7 * first_epoch_loss && loss_after < loss_before &&
                   errors_after < VAL / 3;

    rn_trainer_destroy(trainer); /* before what it borrows */
    rn_lr_schedule_destroy(schedule);
    rn_optimizer_destroy(sgd); /* before its model */
    rn_dataset_destroy(val);   /* views before their parent */
    rn_dataset_destroy(train);
    rn_dataset_destroy(all);
    rn_model_destroy(model);
    rn_ctx_destroy(ctx);
    return finish(ok);
}
