/* libresnet io layer (being written). */
#ifndef RESNET_IO_H
#define RESNET_IO_H
#include "model.h"
#ifdef __cplusplus
extern "C" {
#endif
#ifdef __cplusplus
}
#endif
#endif
