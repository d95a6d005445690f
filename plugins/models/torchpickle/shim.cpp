// shim.cpp reads a torch.save archive with libtorch's unpickler, as
// torch::pickle_load does, but in two steps so that the Go side can
// translate the pickle in between (rewrite.go). The unpickler knows a fixed set of
// globals (tensor and storage rebuilders) and raises on any other: it never
// runs pickled code.

#include "shim.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/unpickler.h>

namespace {

// bufReader serves the archive's bytes from memory the Go side owns.
class bufReader : public caffe2::serialize::ReadAdapterInterface {
 public:
  bufReader(const char* p, size_t n) : p_(p), n_(n) {}
  size_t size() const override { return n_; }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= n_) {
      return 0;
    }
    n = std::min(n, static_cast<size_t>(n_ - pos));
    std::memcpy(buf, p_ + pos, n);
    return n;
  }

 private:
  const char* p_;
  size_t n_;
};

char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p != nullptr) {
    std::memcpy(p, s.c_str(), s.size() + 1);
  }
  return p;
}

// dtypeName maps a libtorch scalar type to its safetensors name, or "".
const char* dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kDouble: return "F64";
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: return "";
  }
}

// guard runs f, turning a C++ exception into *err.
template <typename F>
auto guard(char** err, F f) -> decltype(f()) {
  *err = nullptr;
  try {
    return f();
  } catch (const c10::Error& e) {
    *err = dup(e.what_without_backtrace());
  } catch (const std::exception& e) {
    *err = dup(e.what());
  } catch (...) {
    *err = dup("unknown C++ exception");
  }
  return nullptr;
}

}  // namespace

// kBuildKey holds the attributes a BUILD set (rewrite.go's BuildKey).
const char kBuildKey[] = "\x00" "convirt.build";

struct cv_archive {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
};

struct cv_state_dict {
  std::vector<std::string> names;
  std::vector<std::string> dtypes;
  std::vector<at::Tensor> tensors;
};

extern "C" cv_archive* cv_archive_open(const char* buf, size_t len, char** err) {
  return guard(err, [&]() -> cv_archive* {
    auto a = std::make_unique<cv_archive>();
    a->reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(std::make_shared<bufReader>(buf, len));
    return a.release();
  });
}

extern "C" char* cv_archive_pickle(cv_archive* a, size_t* len, char** err) {
  return guard(err, [&]() -> char* {
    if (!a->reader->hasRecord("data.pkl")) {
      *err = dup("the archive has no data.pkl (a TorchScript module or another zip, not a torch.save file)");
      return nullptr;
    }
    auto rec = a->reader->getRecord("data.pkl");
    size_t n = std::get<1>(rec);
    char* out = static_cast<char*>(std::malloc(n == 0 ? 1 : n));
    if (out == nullptr) {
      *err = dup("out of memory");
      return nullptr;
    }
    std::memcpy(out, std::get<0>(rec).get(), n);
    *len = n;
    return out;
  });
}

extern "C" void cv_archive_free(cv_archive* a) { delete a; }

extern "C" cv_state_dict* cv_unpickle(cv_archive* a, const char* pkl, size_t len, char** err) {
  return guard(err, [&]() -> cv_state_dict* {
    size_t pos = 0;
    auto reader = [&](char* buf, size_t n) -> size_t {
      n = std::min(n, len - pos);
      std::memcpy(buf, pkl + pos, n);
      pos += n;
      return n;
    };
    auto readRecord = [&](const std::string& name) {
      return std::get<0>(a->reader->getRecord("data/" + name));
    };
    torch::jit::Unpickler unpickler(reader, nullptr, nullptr, readRecord, at::Device(at::kCPU));
    unpickler.set_version(a->reader->version());
    c10::IValue v = unpickler.parse_ivalue();
    if (!v.isGenericDict()) {
      *err = dup(std::string("the archive holds a ") + v.tagKind() + ", not a dict of tensors (a state dict)");
      return nullptr;
    }
    auto sd = std::make_unique<cv_state_dict>();
    for (const auto& kv : v.toGenericDict()) {
      if (!kv.key().isString()) {
        *err = dup(std::string("the dict has a key of type ") + kv.key().tagKind() + ", not a string");
        return nullptr;
      }
      std::string name = kv.key().toStringRef();
      if (name == std::string(kBuildKey, sizeof(kBuildKey) - 1)) {
        continue;
      }
      if (!kv.value().isTensor()) {
        *err = dup("entry \"" + name + "\" is a " + kv.value().tagKind() +
                   ", not a tensor: the file holds more than a state dict (save model.state_dict() alone)");
        return nullptr;
      }
      at::Tensor t = kv.value().toTensor().to(at::kCPU).contiguous();
      const char* dt = dtypeName(t.scalar_type());
      if (dt[0] == '\0') {
        *err = dup("tensor \"" + name + "\" has dtype " + std::string(c10::toString(t.scalar_type())) +
                   ", which safetensors cannot hold");
        return nullptr;
      }
      sd->names.push_back(name);
      sd->dtypes.push_back(dt);
      sd->tensors.push_back(t);
    }
    return sd.release();
  });
}

extern "C" size_t cv_sd_len(const cv_state_dict* sd) { return sd->names.size(); }
extern "C" const char* cv_sd_name(const cv_state_dict* sd, size_t i) { return sd->names[i].c_str(); }
extern "C" const char* cv_sd_dtype(const cv_state_dict* sd, size_t i) { return sd->dtypes[i].c_str(); }
extern "C" int64_t cv_sd_ndim(const cv_state_dict* sd, size_t i) { return sd->tensors[i].dim(); }
extern "C" const int64_t* cv_sd_shape(const cv_state_dict* sd, size_t i) { return sd->tensors[i].sizes().data(); }
extern "C" const void* cv_sd_data(const cv_state_dict* sd, size_t i) { return sd->tensors[i].data_ptr(); }
extern "C" size_t cv_sd_nbytes(const cv_state_dict* sd, size_t i) { return sd->tensors[i].nbytes(); }
extern "C" void cv_sd_free(cv_state_dict* sd) { delete sd; }
