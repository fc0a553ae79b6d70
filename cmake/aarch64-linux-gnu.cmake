# CMake toolchain file for cross-building libresnet for 64-bit Arm Linux with
# Debian's gcc-aarch64-linux-gnu, and running its tests under qemu-user.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build-aarch64 -j2 && (cd build-aarch64 && ctest)
#
# ctest runs every test program through CMAKE_CROSSCOMPILING_EMULATOR
# (qemu-aarch64 with the cross sysroot for the dynamic loader and libc).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(RESNET_AARCH64_PREFIX aarch64-linux-gnu- CACHE STRING "Prefix of the cross tools")
set(RESNET_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH
  "Target libraries for the emulator (qemu -L)")

set(CMAKE_C_COMPILER ${RESNET_AARCH64_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${RESNET_AARCH64_PREFIX}g++)
set(CMAKE_AR ${RESNET_AARCH64_PREFIX}ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${RESNET_AARCH64_PREFIX}ranlib CACHE FILEPATH "")
set(CMAKE_NM ${RESNET_AARCH64_PREFIX}nm CACHE FILEPATH "")

find_program(RESNET_QEMU_AARCH64 qemu-aarch64)
if(RESNET_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${RESNET_QEMU_AARCH64} -L ${RESNET_AARCH64_SYSROOT})
endif()

set(CMAKE_FIND_ROOT_PATH ${RESNET_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
