/*
 * Argument parsing for the `resnet` program: "--name value" and
 * "--name=value" options, checked numbers, and error messages that name the
 * subcommand and the option.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_cmd = "";

int cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

int cli_option(int argc, char **argv, int *i, const char *name, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_usage_error("option %s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_flag(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

void cli_args_begin(cli_args *p, int argc, char **argv, void (*help)(FILE *)) {
    memset(p, 0, sizeof *p);
    p->argc = argc;
    p->argv = argv;
    p->exit = -1;
    p->help = help;
}

int cli_next(cli_args *p) {
    if (p->exit >= 0 || ++p->i >= p->argc) return 0;
    p->arg = p->argv[p->i];
    p->value = NULL;
    if (cli_is_help(p->arg)) {
        p->help(stdout);
        p->exit = CLI_EXIT_OK;
        return 0;
    }
    return 1;
}

int cli_take(cli_args *p, const char *name) {
    if (p->exit >= 0) return 0;
    int r = cli_option(p->argc, p->argv, &p->i, name, &p->value);
    if (r < 0) p->exit = CLI_EXIT_USAGE;
    return r > 0;
}

int cli_take_arch(cli_args *p, cli_arch *a) {
    if (p->exit >= 0) return 0;
    int r = cli_arch_option(a, p->argc, p->argv, &p->i);
    if (r < 0) p->exit = CLI_EXIT_USAGE;
    return r > 0;
}

int cli_require(cli_args *p, int ok) {
    if (!ok) p->exit = CLI_EXIT_USAGE;
    return ok;
}

void cli_positional(cli_args *p, const char **slot) {
    if (p->exit >= 0) return;
    if (p->arg[0] == '-') {
        cli_usage_error("unknown option '%s'", p->arg);
        p->exit = CLI_EXIT_USAGE;
    } else if (!*slot) {
        *slot = p->arg;
    } else {
        cli_usage_error("unexpected argument '%s'", p->arg);
        p->exit = CLI_EXIT_USAGE;
    }
}

void cli_usage_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "resnet %s: ", cli_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'resnet %s --help')\n", cli_cmd);
}

void cli_fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "resnet %s: ", cli_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_lib_error(rn_ctx *ctx, rn_status st, const char *what) {
    const char *why = rn_last_error(ctx);
    cli_fail("%s: %s", what, why[0] ? why : rn_status_string(st));
    return CLI_EXIT_FAIL;
}

int cli_parse_i64(const char *opt, const char *text, int64_t lo, int64_t hi, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!text[0] || *end || errno) {
        cli_usage_error("%s: '%s' is not an integer", opt, text);
        return 0;
    }
    if (v < lo || v > hi) {
        cli_usage_error("%s: %lld is outside [%lld, %lld]", opt, v, (long long)lo, (long long)hi);
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

int cli_parse_f64(const char *opt, const char *text, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (!text[0] || *end || errno || v != v) {
        cli_usage_error("%s: '%s' is not a number", opt, text);
        return 0;
    }
    if (v < lo || v > hi) {
        cli_usage_error("%s: %g is outside [%g, %g]", opt, v, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_layout(const char *text, int32_t *layout) {
    if (strcmp(text, "nchw") == 0)
        *layout = RN_LAYOUT_NCHW;
    else if (strcmp(text, "nhwc") == 0)
        *layout = RN_LAYOUT_NHWC;
    else {
        cli_usage_error("--layout: '%s' is not nchw or nhwc", text);
        return 0;
    }
    return 1;
}

int cli_parse_size(const char *opt, const char *text, int64_t *h, int64_t *w) {
    char *end = NULL;
    errno = 0;
    long long a = strtoll(text, &end, 10), b;
    if (end == text || errno) goto bad;
    if (*end == '\0') {
        b = a;
    } else if (*end == 'x' || *end == 'X') {
        const char *rest = end + 1;
        b = strtoll(rest, &end, 10);
        if (end == rest || *end || errno) goto bad;
    } else {
        goto bad;
    }
    if (a < 1 || b < 1 || a > 65536 || b > 65536) {
        cli_usage_error("%s: %s is outside 1..65536 per side", opt, text);
        return 0;
    }
    *h = a;
    *w = b;
    return 1;
bad:
    cli_usage_error("%s: '%s' is not a size like 32x32 or 224", opt, text);
    return 0;
}
