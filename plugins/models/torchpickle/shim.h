// C interface of shim.cpp: a torch.save file read through libtorch's own
// unpickler (torch::pickle_load) into a flat list of named CPU tensors.
#ifndef CONVIRT_TORCHPICKLE_SHIM_H
#define CONVIRT_TORCHPICKLE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cv_archive cv_archive;
typedef struct cv_state_dict cv_state_dict;

// cv_archive_open opens the torch.save zip archive in buf[0:len], which
// must outlive the archive. On failure it returns NULL and sets *err to a
// malloc'd message the caller frees (as every function with err does).
cv_archive* cv_archive_open(const char* buf, size_t len, char** err);
// cv_archive_pickle copies the archive's data.pkl into a malloc'd buffer
// the caller frees, its length in *len.
char* cv_archive_pickle(cv_archive* a, size_t* len, char** err);
void cv_archive_free(cv_archive* a);

// cv_unpickle runs libtorch's unpickler over pkl[0:len], the tensors read
// from archive a. The result must be a dict of strings to tensors (a state
// dict).
cv_state_dict* cv_unpickle(cv_archive* a, const char* pkl, size_t len, char** err);

size_t cv_sd_len(const cv_state_dict* sd);
const char* cv_sd_name(const cv_state_dict* sd, size_t i);
// cv_sd_dtype is the safetensors name of tensor i's dtype (F32, I64, ...).
const char* cv_sd_dtype(const cv_state_dict* sd, size_t i);
int64_t cv_sd_ndim(const cv_state_dict* sd, size_t i);
const int64_t* cv_sd_shape(const cv_state_dict* sd, size_t i);
// cv_sd_data is tensor i's C-contiguous bytes, cv_sd_nbytes long.
const void* cv_sd_data(const cv_state_dict* sd, size_t i);
size_t cv_sd_nbytes(const cv_state_dict* sd, size_t i);
void cv_sd_free(cv_state_dict* sd);

#ifdef __cplusplus
}
#endif

#endif
