/* Status names and library version. */
#include "internal.h"

const char *rn_status_string(rn_status s) {
    switch (s) {
    case RN_OK: return "RN_OK: success";
    case RN_E_INVALID_ARG: return "RN_E_INVALID_ARG: invalid argument";
    case RN_E_UNSUPPORTED: return "RN_E_UNSUPPORTED: not supported by this build";
    case RN_E_NO_MEMORY: return "RN_E_NO_MEMORY: out of memory";
    case RN_E_BUFFER_TOO_SMALL: return "RN_E_BUFFER_TOO_SMALL: buffer too small";
    case RN_E_BAD_STATE: return "RN_E_BAD_STATE: call out of order";
    case RN_E_BAD_FORMAT: return "RN_E_BAD_FORMAT: malformed data";
    case RN_E_VERSION: return "RN_E_VERSION: incompatible version";
    case RN_E_IO: return "RN_E_IO: input/output error";
    case RN_E_NOT_FOUND: return "RN_E_NOT_FOUND: not found";
    case RN_E_OVERFLOW: return "RN_E_OVERFLOW: size overflow";
    case RN_E_NUMERIC: return "RN_E_NUMERIC: non-finite value";
    case RN_E_INTERNAL: return "RN_E_INTERNAL: internal error";
    default: return "unknown status";
    }
}

#define RN_STR2(x) #x
#define RN_STR(x) RN_STR2(x)

uint32_t rn_version_number(void) { return RN_VERSION_NUMBER; }
const char *rn_version_string(void) {
    return RN_STR(RN_VERSION_MAJOR) "." RN_STR(RN_VERSION_MINOR) "." RN_STR(RN_VERSION_PATCH);
}
