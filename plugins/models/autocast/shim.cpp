// The C side of package autocast: libtorch's autocast switches
// (ATen/autocast_mode.h) and the CUDA compute capability, behind a C ABI.
//
// The functions are declared here rather than by including
// ATen/autocast_mode.h so that the shim compiles against any libtorch
// (Debian's, an official zip, a PyTorch wheel's, CPU or CUDA) without its
// include paths: linking uses gotch's libtch flags, which the Go package
// imports. The C++ names are mangled with their parameter types, so a
// declaration that disagrees with libtorch's fails to link rather than
// calling the wrong function; ScalarType's values (Half 5, Float 6,
// BFloat16 15) are fixed by libtorch's serialisation format, and the tests
// read an op's output dtype back under autocast.
#include <cstdint>
#include <dlfcn.h>

namespace c10 {
enum class ScalarType : int8_t;
}

namespace at {
namespace autocast {
bool is_enabled();
void set_enabled(bool enabled);
bool is_cpu_enabled();
void set_cpu_enabled(bool enabled);
c10::ScalarType get_autocast_gpu_dtype();
c10::ScalarType get_autocast_cpu_dtype();
void set_autocast_gpu_dtype(c10::ScalarType dtype);
void set_autocast_cpu_dtype(c10::ScalarType dtype);
void clear_cache();
int increment_nesting();
int decrement_nesting();
}  // namespace autocast
}  // namespace at

extern "C" {

int cvt_autocast_is_enabled(int cuda) {
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}

void cvt_autocast_set_enabled(int cuda, int on) {
  if (cuda) {
    at::autocast::set_enabled(on != 0);
  } else {
    at::autocast::set_cpu_enabled(on != 0);
  }
}

int cvt_autocast_get_dtype(int cuda) {
  return static_cast<int>(cuda ? at::autocast::get_autocast_gpu_dtype()
                               : at::autocast::get_autocast_cpu_dtype());
}

void cvt_autocast_set_dtype(int cuda, int dtype) {
  auto d = static_cast<c10::ScalarType>(dtype);
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(d);
  } else {
    at::autocast::set_autocast_cpu_dtype(d);
  }
}

int cvt_autocast_increment_nesting() { return at::autocast::increment_nesting(); }

int cvt_autocast_decrement_nesting() { return at::autocast::decrement_nesting(); }

void cvt_autocast_clear_cache() { at::autocast::clear_cache(); }

// cvt_cuda_capability writes device's compute capability through the CUDA
// runtime already loaded with libtorch_cuda; it returns 0, or -1 when this
// process has no CUDA runtime (a CPU build) and -2 when the call failed.
int cvt_cuda_capability(int device, int *major, int *minor) {
  typedef int (*getattr_fn)(int *, int, int);
  void *sym = dlsym(RTLD_DEFAULT, "cudaDeviceGetAttribute");
  if (sym == nullptr) {
    return -1;
  }
  getattr_fn getattr = reinterpret_cast<getattr_fn>(sym);
  // cudaDevAttrComputeCapabilityMajor = 75, ...Minor = 76 (driver_types.h).
  if (getattr(major, 75, device) != 0 || getattr(minor, 76, device) != 0) {
    return -2;
  }
  return 0;
}

}  // extern "C"
