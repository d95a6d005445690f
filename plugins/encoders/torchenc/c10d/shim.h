// C interface of shim.cpp: libtorch's own c10d (TCPStore for the
// rendezvous, ProcessGroupGloo for the collectives) behind a C ABI for cgo.
#ifndef CONVIRT_C10D_SHIM_H
#define CONVIRT_C10D_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cvd_store cvd_store;
typedef struct cvd_group cvd_group;

// Element types of the buffers the collectives take.
enum { CVD_F32 = 0, CVD_F64 = 1 };

// cvd_store_new opens c10d::TCPStore at host:port: rank 0 (server != 0)
// listens there (port 0 picks a free one, read back with cvd_store_port),
// the others connect, retrying until timeout_ms. On failure it returns NULL
// and sets *err to a malloc'd message the caller frees (as every function
// with err does).
cvd_store* cvd_store_new(const char* host, int port, int server, int64_t timeout_ms, char** err);
int cvd_store_port(const cvd_store* s);
// cvd_store_free closes the store unless a group still holds it.
void cvd_store_free(cvd_store* s);
// cvd_store_set sets key to the string value; cvd_store_get waits for key
// (at most the store's timeout) and returns its value, malloc'd.
int cvd_store_set(cvd_store* s, const char* key, const char* value, char** err);
char* cvd_store_get(cvd_store* s, const char* key, char** err);

// cvd_group_new marks rank as joined in the store, under key_prefix (each
// start of a group its own, so that a rank never joins an earlier start's
// group through keys left in its store), then builds
// c10d::ProcessGroupGloo over it (its own rendezvous: every rank publishes
// its address in the store and connects to all the others), with a gloo
// TCP device on each of interfaces (comma-separated network interface
// names, as GLOO_SOCKET_IFNAME lists them) or, with none, one on bind_host
// ("" for the host's own name), and timeout_ms for
// the rendezvous and every collective. When ranks are missing at the
// timeout, *missing lists them (comma-separated, malloc'd, the caller
// frees), as the store saw them.
cvd_group* cvd_group_new(cvd_store* s, const char* key_prefix, int rank, int world, const char* bind_host, const char* interfaces,
                         int64_t timeout_ms, char** missing, char** err);
// cvd_allreduce sums buf[0:n] of type dtype over the group's ranks, in
// place; it returns 0, or -1 and sets *err.
int cvd_allreduce(cvd_group* g, void* buf, int64_t n, int dtype, char** err);
// cvd_allgather writes every rank's in[0:n] to out[r*n:(r+1)*n], in rank
// order.
int cvd_allgather(cvd_group* g, const void* in, int64_t n, void* out, int dtype, char** err);
// cvd_allreduce_tensors sums the n libtorch tensors ts (at::Tensor*, as
// gotch's libtch holds them) over the group's ranks, in place, as DDP's
// Reducer does: consecutive tensors of one dtype and device are flattened
// into buckets of at most bucket_bytes (a larger tensor is a bucket of its
// own), every bucket's all-reduce is started before the first is waited
// on, and the sums are copied back. Every rank must pass tensors of the
// same shapes in the same order.
int cvd_allreduce_tensors(cvd_group* g, void** ts, int n, int64_t bucket_bytes, char** err);
// cvd_group_devices describes the group's gloo devices (their addresses,
// comma-separated), malloc'd.
char* cvd_group_devices(const cvd_group* g);
void cvd_group_free(cvd_group* g);

// A cvd_reducer sums the gradients of a fixed list of parameters over a
// group while backward runs, as DDP's c10d::Reducer does (reducer.cpp): a
// post-hook on each parameter's gradient accumulator marks it ready, and a
// bucket's all-reduce is started (ProcessGroup::allreduce, asynchronous)
// as soon as all its parameters are ready and the buckets before it have
// started. The first step's backward records the order in which the
// gradients become ready; at its finish rank 0's order is broadcast and
// the buckets are cut from it (the first at most first_bucket_bytes, the
// others bucket_bytes). From then on a step's backward is armed (its
// buckets launched during backward) when it is the step's k-th, k being
// the number of backwards the previous step had (one, or a gradient
// cache's chunks): a further backward in the same step makes the armed
// one's sums stale (waited for, discarded), and finish sums afresh.
typedef struct cvd_reducer cvd_reducer;

// cvd_reducer_new hooks the n parameters ps (at::Tensor*, leaves that
// require grad), in an order every rank shares.
cvd_reducer* cvd_reducer_new(void** ps, int n, int64_t first_bucket_bytes, int64_t bucket_bytes, char** err);
// cvd_reducer_prepare is called before each backward of a step; g is the
// group, or NULL before it is joined (such a backward is never armed).
void cvd_reducer_prepare(cvd_reducer* r, cvd_group* g);
// cvd_reducer_finish is called once a step's backwards are done, on every
// rank at once: it starts the all-reduce of every bucket the armed
// backward did not launch (all of them when none was armed), waits for
// all, and copies the sums into the gradients (an undefined gradient
// counts as zeros and stays undefined). *launched is the number of
// buckets launched during backward, *buckets the number of buckets.
int cvd_reducer_finish(cvd_reducer* r, cvd_group* g, int* launched, int* buckets, char** err);
// cvd_reducer_free removes the hooks.
void cvd_reducer_free(cvd_reducer* r);

#ifdef __cplusplus
}
#endif

#endif
