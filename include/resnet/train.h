/* libresnet train layer (being written). */
#ifndef RESNET_TRAIN_H
#define RESNET_TRAIN_H
#include "model.h"
#ifdef __cplusplus
extern "C" {
#endif
#ifdef __cplusplus
}
#endif
#endif
