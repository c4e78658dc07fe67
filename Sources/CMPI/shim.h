// Open MPI through plain C types. MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ... are macros over
// library globals that Swift cannot import, so every call the package needs is wrapped here.
#include <mpi.h>
#include <string.h>

/// MPI_Init_thread (funnelled: only the training thread calls MPI) with errors returned
/// instead of aborting, so the caller can name the rank and host before it ends the job.
static inline int cmpi_init(int *rank, int *size) {
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    return MPI_Comm_size(MPI_COMM_WORLD, size);
}

/// Rank and size among the processes of this node (shared-memory split of the world).
static inline int cmpi_local(int *localRank, int *localSize) {
    MPI_Comm node;
    int rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS) return rc;
    MPI_Comm_rank(node, localRank);
    MPI_Comm_size(node, localSize);
    return MPI_Comm_free(&node);
}

static inline int cmpi_allreduce_sum_float(float *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static inline int cmpi_allreduce_sum_double(double *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/// Every rank contributes `bytes` bytes; `recv` gets size·bytes in rank order.
static inline int cmpi_allgather_bytes(const void *send, int bytes, void *recv) {
    return MPI_Allgather(send, bytes, MPI_BYTE, recv, bytes, MPI_BYTE, MPI_COMM_WORLD);
}

static inline int cmpi_broadcast_bytes(void *values, int bytes, int root) {
    return MPI_Bcast(values, bytes, MPI_BYTE, root, MPI_COMM_WORLD);
}

static inline int cmpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

static inline int cmpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

static inline int cmpi_finalize(void) { return MPI_Finalize(); }

static inline int cmpi_finalized(void) { int f = 0; MPI_Finalized(&f); return f; }

/// The library's text for an error code (into `out`, at most `capacity` bytes with the NUL).
static inline void cmpi_error_string(int code, char *out, int capacity) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) { length = 0; }
    if (capacity <= 0) return;
    if (length >= capacity) length = capacity - 1;
    memcpy(out, text, (size_t)length);
    out[length] = 0;
}

static inline int cmpi_success(void) { return MPI_SUCCESS; }
