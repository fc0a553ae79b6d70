/*
 * Internal view of a model for the layers above nn (train, io): the flat
 * list of its tensors in the library's own layout (OHWI for convs), with the
 * gradient beside each trainable one. Elementwise code (the optimiser,
 * checkpoints) works on these arrays directly.
 */
#ifndef RN_NN_H
#define RN_NN_H

#include "../core/internal.h"
#include "resnet/model.h"

typedef struct rn_tensor_slot {
    const char *name;  /* torchvision name, e.g. "layer1.0.conv1.weight" */
    int32_t kind;      /* RN_TENSOR_PARAM or RN_TENSOR_BUFFER */
    int32_t ndim;      /* PyTorch dims: 4 for conv weights, 2 for fc, 1 otherwise */
    int64_t dims[4];   /* PyTorch order (OIHW for conv weights) */
    size_t count;      /* number of floats */
    float *value;      /* library layout (OHWI for conv weights) */
    float *grad;       /* same layout as value; NULL for buffers, and for every
                        * tensor until the model's first RN_MODE_TRAIN plan */
} rn_tensor_slot;

/* The model's slots in state_dict order. The array moves while the model is
 * being built (each add_* appends); once the head is added it is stable for
 * the model's life. */
int32_t rn__model_slots(const rn_model *model, const rn_tensor_slot **slots);
/* Allocate the gradient arrays now (they otherwise come with the first
 * RN_MODE_TRAIN plan), so every RN_TENSOR_PARAM slot's grad is non-NULL:
 * for code that needs them before any plan (an optimiser). RN_OK, or
 * RN_E_NO_MEMORY with the model's context's last error set. Idempotent. */
rn_status rn__model_ensure_grads(rn_model *model);
/* The context a model was created with. */
rn_ctx *rn__model_ctx(const rn_model *model);
/* Must be called after values were changed behind the model's back (an
 * optimiser step, a checkpoint load) so derived state (packed weights) is
 * refreshed before the next run. */
void rn__model_values_changed(rn_model *model);

#endif /* RN_NN_H */
