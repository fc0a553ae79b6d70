/*
 * libresnet_mpi: the MPI engine for data-parallel training (docs/distributed.md).
 * A separate library (CMake: -DRESNET_MPI=ON, target resnet::mpi) so that
 * libresnet itself never depends on MPI. It plugs non-blocking collectives
 * into a trainer's reduction hook (rn_trainer_set_reducer):
 *
 *   - gradient buckets: MPI_Iallreduce (MPI_SUM) for one or two ranks; for
 *     more, when ordered (the default), MPI_Iallgather and the pairwise
 *     tree over ranks on arrival, which keeps N ranks bit-identical to one
 *     process of N shards; unordered, MPI_Iallreduce whatever the ranks;
 *   - batch-norm statistics, loss and error counts: MPI_Iallreduce in double
 *     (exact: one non-zero term per element).
 *
 * Every wait polls with a deadline: a rank that died or stopped answering
 * makes the others' steps fail with RN_E_IO after `timeout_s` seconds
 * instead of hanging (the caller then ends the job, e.g. rn_mpi_abort).
 * MPI progress happens inside MPI calls; each start also tests the
 * requests in flight, so earlier buckets move while backward goes on.
 */
#ifndef RESNET_MPI_H
#define RESNET_MPI_H

#include "resnet/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rn_mpi rn_mpi;

/* 1 when the process was started by an MPI launcher (mpirun / mpiexec of
 * Open MPI, MPICH or a PMI-based scheduler), 0 otherwise. */
RN_API int32_t rn_mpi_launched(void);

/* Initialises MPI (unless the caller already did) on MPI_COMM_WORLD and
 * makes the engine; errors are returned (MPI_ERRORS_RETURN), never fatal.
 * timeout_s > 0 bounds every wait. RN_E_IO when MPI cannot start,
 * RN_E_NO_MEMORY, RN_E_INVALID_ARG for a NULL out or a bad timeout. */
RN_API rn_status rn_mpi_create(rn_ctx *ctx, int *argc, char ***argv, double timeout_s,
                               rn_mpi **out);
RN_API int32_t rn_mpi_rank(const rn_mpi *m);
RN_API int32_t rn_mpi_size(const rn_mpi *m);
/* rn_trainer_set_reducer(tr, rank, size, ...) with this engine. */
RN_API rn_status rn_mpi_attach(rn_mpi *m, rn_trainer *tr);
/* ordered 1 (the default): gradients summed in the pairwise tree over
 * ranks (bit-identity with one process; N times an all-reduce's received
 * bytes beyond 2 ranks); 0: MPI_Iallreduce's own order. */
RN_API void rn_mpi_set_ordered(rn_mpi *m, int32_t ordered);
/* Totals since creation: seconds spent blocked in waits (the
 * communication that computation did not hide) and bytes reduced. */
RN_API void rn_mpi_stats(const rn_mpi *m, double *wait_seconds, double *bytes);
/* What the engine's last failure was, in a sentence ("" if none): the
 * trainer's RN_E_IO sentence carries only the engine's code. */
RN_API const char *rn_mpi_last_error(const rn_mpi *m);
/* Ends the whole job at once (MPI_Abort), e.g. after a failed step. */
RN_API void rn_mpi_abort(rn_mpi *m, int32_t code);
/* Frees the engine and finalises MPI if rn_mpi_create initialised it. */
RN_API void rn_mpi_destroy(rn_mpi *m);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_MPI_H */
