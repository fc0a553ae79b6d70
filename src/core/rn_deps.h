/*
 * The one header through which libresnet reaches the C library. A firmware
 * vendor who lacks a function replaces it here and nowhere else.
 * Nothing here prints, exits or aborts.
 */
#ifndef RN_DEPS_H
#define RN_DEPS_H

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define rn_memcpy memcpy
#define rn_memmove memmove
#define rn_memset memset
#define rn_memcmp memcmp
#define rn_strlen strlen
#define rn_strcmp strcmp
#define rn_strncmp strncmp
#define rn_sqrtf sqrtf
#define rn_expf expf
#define rn_logf logf
#define rn_sqrt sqrt
#define rn_exp exp
#define rn_log log
#define rn_cos cos

/* Formatting of error sentences into a fixed buffer. vsnprintf writes to
 * memory only; RN_NO_STDIO builds keep the unformatted template instead. */
#ifndef RN_NO_STDIO
#include <stdio.h>
#define RN_HAVE_VSNPRINTF 1
#endif

#endif /* RN_DEPS_H */
