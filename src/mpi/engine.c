/*
 * The MPI reduction engine behind include/resnet-mpi.h: a ring of
 * operations in flight, each one non-blocking collective on a duplicate of
 * MPI_COMM_WORLD, and waits that poll against a deadline. Uses only the
 * public libresnet API (rn_trainer_set_reducer); the library itself knows
 * nothing of MPI.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "resnet-mpi.h"

/* More than the library ever has in flight (one per bucket, plus one). */
#define MPI_ENGINE_SLOTS 4096

/* Engine failure codes, returned through the hook (negative from start,
 * positive from wait), and named in the trainer's error sentence. */
#define ENGINE_E_TOO_MANY 1 /* more operations in flight than slots */
#define ENGINE_E_MPI 2      /* an MPI call returned an error */
#define ENGINE_E_TIMEOUT 3  /* a wait passed its deadline: a rank died or hangs */
#define ENGINE_E_MEMORY 4   /* no memory for an allgather's receive buffer */
#define ENGINE_E_TICKET 5   /* a ticket that is not in flight */

typedef struct op {
    int used;
    MPI_Request req;
    void *data;
    size_t count;
    int32_t type;
    float *gathered; /* allgather: ranks * count floats, NULL otherwise */
} op;

struct rn_mpi {
    rn_ctx *ctx;
    MPI_Comm comm;
    int rank, size, initialised_here;
    double timeout_s;
    op ops[MPI_ENGINE_SLOTS];
    int32_t next;
    int32_t ordered;
    double wait_s, bytes;
    char why[256];
};

static int32_t failure(rn_mpi *m, int32_t code) {
    switch (code) {
    case ENGINE_E_TOO_MANY:
        snprintf(m->why, sizeof m->why, "rank %d: more than %d reductions in flight", m->rank,
                 MPI_ENGINE_SLOTS);
        break;
    case ENGINE_E_MPI:
        snprintf(m->why, sizeof m->why, "rank %d: an MPI collective returned an error", m->rank);
        break;
    case ENGINE_E_TIMEOUT:
        snprintf(m->why, sizeof m->why,
                 "rank %d: a reduction was not complete after %g s (the timeout): another rank "
                 "died or stopped answering",
                 m->rank, m->timeout_s);
        break;
    case ENGINE_E_MEMORY:
        snprintf(m->why, sizeof m->why, "rank %d: out of memory for a gather", m->rank);
        break;
    default:
        snprintf(m->why, sizeof m->why, "rank %d: wait for a ticket not in flight", m->rank);
        break;
    }
    return code;
}

void rn_mpi_set_ordered(rn_mpi *m, int32_t ordered) {
    if (m) m->ordered = ordered != 0;
}

void rn_mpi_stats(const rn_mpi *m, double *wait_seconds, double *bytes) {
    if (wait_seconds) *wait_seconds = m ? m->wait_s : 0.0;
    if (bytes) *bytes = m ? m->bytes : 0.0;
}

const char *rn_mpi_last_error(const rn_mpi *m) { return m ? m->why : ""; }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int32_t rn_mpi_launched(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK",
                                 "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

rn_status rn_mpi_create(rn_ctx *ctx, int *argc, char ***argv, double timeout_s, rn_mpi **out) {
    if (!out || !(timeout_s > 0)) return RN_E_INVALID_ARG;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(argc, argv) != MPI_SUCCESS) return RN_E_IO;
    rn_mpi *m = (rn_mpi *)calloc(1, sizeof *m);
    if (!m) return RN_E_NO_MEMORY;
    m->ctx = ctx;
    m->initialised_here = !inited;
    m->timeout_s = timeout_s;
    m->ordered = 1;
    if (MPI_Comm_dup(MPI_COMM_WORLD, &m->comm) != MPI_SUCCESS) {
        free(m);
        return RN_E_IO;
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    *out = m;
    return RN_OK;
}

int32_t rn_mpi_rank(const rn_mpi *m) { return m ? m->rank : 0; }
int32_t rn_mpi_size(const rn_mpi *m) { return m ? m->size : 1; }

/* Let the requests in flight move (MPI progresses inside MPI calls only). */
static void progress(rn_mpi *m) {
    for (int32_t i = 0; i < MPI_ENGINE_SLOTS; i++)
        if (m->ops[i].used && m->ops[i].req != MPI_REQUEST_NULL) {
            int done = 0;
            MPI_Test(&m->ops[i].req, &done, MPI_STATUS_IGNORE);
        }
}

static int32_t engine_start(void *user, void *data, size_t count, int32_t type) {
    rn_mpi *m = (rn_mpi *)user;
    if (count > (size_t)INT_MAX / (size_t)m->size) return -failure(m, ENGINE_E_MPI);
    int32_t t = -1;
    for (int32_t k = 0; k < MPI_ENGINE_SLOTS; k++) {
        int32_t i = (m->next + k) % MPI_ENGINE_SLOTS;
        if (!m->ops[i].used) {
            t = i;
            break;
        }
    }
    if (t < 0) return -failure(m, ENGINE_E_TOO_MANY);
    op *o = &m->ops[t];
    memset(o, 0, sizeof *o);
    o->data = data, o->count = count, o->type = type;
    int rc;
    if (type == RN_REDUCE_F64) {
        rc = MPI_Iallreduce(MPI_IN_PLACE, data, (int)count, MPI_DOUBLE, MPI_SUM, m->comm, &o->req);
    } else if (m->size <= 2 || !m->ordered) {
        /* a + b == b + a: any order MPI picks gives the tree's bits */
        rc = MPI_Iallreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, m->comm, &o->req);
    } else {
        o->gathered = (float *)malloc(count * (size_t)m->size * sizeof(float));
        if (!o->gathered) return -failure(m, ENGINE_E_MEMORY);
        rc = MPI_Iallgather(data, (int)count, MPI_FLOAT, o->gathered, (int)count, MPI_FLOAT,
                            m->comm, &o->req);
    }
    if (rc != MPI_SUCCESS) {
        free(o->gathered);
        return -failure(m, ENGINE_E_MPI);
    }
    o->used = 1;
    m->bytes += (double)count * (type == RN_REDUCE_F64 ? 8.0 : 4.0);
    m->next = (t + 1) % MPI_ENGINE_SLOTS;
    progress(m);
    return t;
}

/* The ranks' arrays in the pairwise tree (rn_trainer_set_reducer). */
static void tree_sum(const rn_mpi *m, const op *o) {
    float *out = (float *)o->data;
    const size_t n = o->count;
    for (size_t e = 0; e < n; e++) {
        float v[256] = {0};
        for (int r = 0; r < m->size; r++) v[r] = o->gathered[(size_t)r * n + e];
        for (int step = 1; step < m->size; step *= 2)
            for (int i = 0; i + step < m->size; i += 2 * step) v[i] = v[i] + v[i + step];
        out[e] = v[0];
    }
}

static int32_t engine_wait(void *user, int32_t ticket) {
    rn_mpi *m = (rn_mpi *)user;
    if (ticket < 0 || ticket >= MPI_ENGINE_SLOTS || !m->ops[ticket].used)
        return failure(m, ENGINE_E_TICKET);
    op *o = &m->ops[ticket];
    double t0 = now_s(), deadline = t0 + m->timeout_s;
    int done = 0, rc = MPI_SUCCESS;
    for (unsigned spins = 0;; spins++) {
        rc = MPI_Test(&o->req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done) break;
        if (now_s() > deadline) break;
        if (spins > 64) { /* past the fast path: give the core back between polls */
            struct timespec nap = {0, 20000};
            nanosleep(&nap, NULL);
        }
    }
    m->wait_s += now_s() - t0;
    int32_t result = 0;
    if (rc != MPI_SUCCESS)
        result = failure(m, ENGINE_E_MPI);
    else if (!done)
        result = failure(m, ENGINE_E_TIMEOUT); /* still pending: the job must end */
    else if (o->gathered)
        tree_sum(m, o);
    if (done || rc != MPI_SUCCESS) {
        free(o->gathered);
        o->used = 0;
    }
    return result;
}

rn_status rn_mpi_attach(rn_mpi *m, rn_trainer *tr) {
    if (!m || !tr) return RN_E_INVALID_ARG;
    if (m->size > 256) return RN_E_UNSUPPORTED;
    return rn_trainer_set_reducer(tr, m->rank, m->size, engine_start, engine_wait, m);
}

void rn_mpi_abort(rn_mpi *m, int32_t code) { MPI_Abort(m ? m->comm : MPI_COMM_WORLD, code); }

void rn_mpi_destroy(rn_mpi *m) {
    if (!m) return;
    for (int32_t i = 0; i < MPI_ENGINE_SLOTS; i++)
        if (m->ops[i].used) free(m->ops[i].gathered);
    MPI_Comm_free(&m->comm);
    int here = m->initialised_here;
    free(m);
    if (here) MPI_Finalize();
}
