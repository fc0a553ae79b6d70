# CMake toolchain file for bare-metal Cortex-M builds with gcc-arm-none-eabi.
#
#   cmake -S . -B build-m7 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#     -DRESNET_INFERENCE_ONLY=ON -DRESNET_WITH_IO=OFF -DRESNET_OPENMP=OFF \
#     -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TESTS=OFF -DRESNET_BUILD_TOOLS=OFF \
#     -DRESNET_BUILD_BENCH=OFF -DRESNET_ARM_EXTRA_FLAGS=-DRN_NO_STDIO
#
# RESNET_ARM_CPU_FLAGS picks the core; the default is a Cortex-M7 with its
# double-precision FPU and the hard-float ABI. Examples:
#   Cortex-M4F:  -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
#   Cortex-M55:  -mcpu=cortex-m55 -mthumb -mfloat-abi=hard
# Extra compile flags go in RESNET_ARM_EXTRA_FLAGS (e.g. -DRN_NO_STDIO): a
# CMAKE_C_FLAGS given on the command line would replace the CPU flags.
# Only static libraries can be built (there is no dynamic loader), and
# try_compile links with nosys.specs so that no board support is needed.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(RESNET_ARM_PREFIX arm-none-eabi- CACHE STRING "Prefix of the cross tools")
set(RESNET_ARM_CPU_FLAGS "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16"
  CACHE STRING "CPU, instruction set and float ABI flags")
set(RESNET_ARM_EXTRA_FLAGS "" CACHE STRING "More compile flags for C and C++")

set(CMAKE_C_COMPILER ${RESNET_ARM_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${RESNET_ARM_PREFIX}g++)
set(CMAKE_ASM_COMPILER ${RESNET_ARM_PREFIX}gcc)
set(CMAKE_AR ${RESNET_ARM_PREFIX}ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${RESNET_ARM_PREFIX}ranlib CACHE FILEPATH "")
set(CMAKE_SIZE ${RESNET_ARM_PREFIX}size CACHE FILEPATH "")

# Sections per function and per object let the firmware's linker drop what
# it does not call (-Wl,--gc-sections at the final link).
set(CMAKE_C_FLAGS_INIT
  "${RESNET_ARM_CPU_FLAGS} -ffunction-sections -fdata-sections ${RESNET_ARM_EXTRA_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT
  "${RESNET_ARM_CPU_FLAGS} -ffunction-sections -fdata-sections ${RESNET_ARM_EXTRA_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nosys.specs -Wl,--gc-sections")
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
