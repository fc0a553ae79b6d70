# libresnet sources for plain-Make builds (vendoring without CMake).
#
#   RESNET_DIR := third_party/libresnet      # where the source tree lives
#   include $(RESNET_DIR)/lib/sources.mk
#   app: app.o $(RESNET_OBJS)
#
# and give each object its flags, e.g. (see tests/consumer/make/Makefile):
#   CPPFLAGS += $(RESNET_CPPFLAGS)
#   $(RESNET_OBJS): CFLAGS += $(RESNET_CFLAGS)
#   $(RESNET_AVX2_OBJS): CFLAGS += $(RESNET_AVX2_FLAGS)
#   $(RESNET_AVX512_OBJS): CFLAGS += $(RESNET_AVX512_FLAGS)
#
# The lists are the same globs CMakeLists.txt uses, so they cannot drift.
# Knobs, set before the include:
#   RESNET_ARCH            x86_64 | aarch64 | generic (default: from $(CC) -dumpmachine);
#                          generic builds only the portable scalar kernels
#   RESNET_WITH_IO=0       leave out src/io (file readers and writers)
#   RESNET_INFERENCE_ONLY=1  leave out backward passes and training
#   RESNET_POOL=1          threads from the library's own pool (POSIX threads;
#                          add $(RESNET_POOL_FLAGS) when compiling and linking)
#   RESNET_OPENMP=1        threads through OpenMP (add $(RESNET_OPENMP_FLAGS)
#                          when compiling and linking); RESNET_POOL wins if both
#   RESNET_OBJDIR          where objects go (default: build/resnet)
# Outputs: RESNET_SRCS (portable), RESNET_AVX2_SRCS, RESNET_AVX512_SRCS,
# RESNET_ALL_SRCS, the matching *_OBJS, RESNET_CPPFLAGS, RESNET_CFLAGS, RESNET_LDLIBS.
# RESNET_CFLAGS pins the arithmetic (-ffp-contract=off: no a*b+c fused into an
# FMA behind the code's back), which the library's bit-identity promises need;
# the ISA flags below include it too.

RESNET_DIR ?= .
RESNET_WITH_IO ?= 1
RESNET_INFERENCE_ONLY ?= 0
RESNET_OPENMP ?= 0
RESNET_POOL ?= 0
RESNET_OBJDIR ?= build/resnet

ifndef RESNET_ARCH
  RESNET_TRIPLE := $(shell $(CC) -dumpmachine 2>/dev/null)
  ifneq ($(filter x86_64-% amd64-%,$(RESNET_TRIPLE)),)
    RESNET_ARCH := x86_64
  else ifneq ($(filter aarch64-% arm64-%,$(RESNET_TRIPLE)),)
    RESNET_ARCH := aarch64
  else
    RESNET_ARCH := generic
  endif
endif

RESNET_SRCS := $(sort $(wildcard \
  $(RESNET_DIR)/src/core/*.c $(RESNET_DIR)/src/kernels/*.c \
  $(RESNET_DIR)/src/kernels/scalar/*.c \
  $(RESNET_DIR)/src/ops/*.c $(RESNET_DIR)/src/nn/*.c $(RESNET_DIR)/src/train/*.c))
RESNET_CPPFLAGS := -I$(RESNET_DIR)/include -DRN_BUILDING_LIBRARY
RESNET_LDLIBS := -lm

ifeq ($(RESNET_WITH_IO),1)
  RESNET_SRCS += $(sort $(wildcard $(RESNET_DIR)/src/io/*.c))
else
  RESNET_CPPFLAGS += -DRN_NO_IO
endif

ifeq ($(RESNET_INFERENCE_ONLY),1)
  RESNET_CPPFLAGS += -DRN_INFERENCE_ONLY
  RESNET_SRCS := $(filter-out $(RESNET_DIR)/src/train/% $(RESNET_DIR)/src/io/checkpoint.c \
    $(RESNET_DIR)/src/ops/layers-api-backward.c,$(RESNET_SRCS))
endif

RESNET_AVX2_SRCS :=
RESNET_AVX512_SRCS :=
ifeq ($(RESNET_ARCH),x86_64)
  RESNET_AVX2_SRCS := $(sort $(wildcard $(RESNET_DIR)/src/kernels/avx2/*.c))
  RESNET_AVX512_SRCS := $(sort $(wildcard $(RESNET_DIR)/src/kernels/avx512/*.c))
  ifneq ($(RESNET_AVX2_SRCS),)
    RESNET_CPPFLAGS += -DRN_HAVE_AVX2=1
  endif
  ifneq ($(RESNET_AVX512_SRCS),)
    RESNET_CPPFLAGS += -DRN_HAVE_AVX512=1
  endif
else ifeq ($(RESNET_ARCH),aarch64)
  RESNET_NEON_SRCS := $(sort $(wildcard $(RESNET_DIR)/src/kernels/neon/*.c))
  ifneq ($(RESNET_NEON_SRCS),)
    RESNET_SRCS += $(RESNET_NEON_SRCS)
    RESNET_CPPFLAGS += -DRN_HAVE_NEON=1
  endif
endif
RESNET_CFLAGS := -ffp-contract=off
RESNET_AVX2_FLAGS := -mavx2 -mfma $(RESNET_CFLAGS)
RESNET_AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma $(RESNET_CFLAGS)

ifeq ($(RESNET_POOL),1)
  RESNET_CPPFLAGS += -DRN_WITH_POOL
  RESNET_POOL_FLAGS ?= -pthread
else
  RESNET_POOL_FLAGS :=
endif
ifeq ($(RESNET_OPENMP),1)
  RESNET_CPPFLAGS += -DRN_WITH_OPENMP
  RESNET_OPENMP_FLAGS ?= -fopenmp
else
  RESNET_OPENMP_FLAGS :=
endif

RESNET_ALL_SRCS := $(RESNET_SRCS) $(RESNET_AVX2_SRCS) $(RESNET_AVX512_SRCS)
resnet_obj = $(patsubst $(RESNET_DIR)/%.c,$(RESNET_OBJDIR)/%.o,$(1))
RESNET_OBJS := $(call resnet_obj,$(RESNET_ALL_SRCS))
RESNET_AVX2_OBJS := $(call resnet_obj,$(RESNET_AVX2_SRCS))
RESNET_AVX512_OBJS := $(call resnet_obj,$(RESNET_AVX512_SRCS))
