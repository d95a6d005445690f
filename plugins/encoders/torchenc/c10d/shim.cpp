// The C side of package c10d: libtorch 1.13's own c10d::TCPStore and
// c10d::ProcessGroupGloo, compiled against Debian's libtorch-dev headers
// (torch/csrc/distributed/c10d) and libgloo-dev's (ProcessGroupGloo.hpp
// includes gloo's), linked against libtorch_cpu, which exports both.
// Nothing here reduces, gathers or rendezvouses by itself: every byte goes
// through c10d.
#include "shim.h"
#include "group.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

struct cvd_store {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

namespace {

using cvd::dup;
using cvd::fail;

at::ScalarType scalar(int dtype) {
  return dtype == CVD_F64 ? at::kDouble : at::kFloat;
}

std::string joinedKey(const std::string& prefix, int rank) {
  return prefix + "joined/" + std::to_string(rank);
}

}  // namespace

extern "C" {

cvd_store* cvd_store_new(const char* host, int port, int server, int64_t timeout_ms, char** err) {
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = server != 0;
    opts.waitWorkers = false;
    opts.timeout = std::chrono::milliseconds(timeout_ms);
    auto s = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
    return new cvd_store{s};
  } catch (const std::exception& e) {
    fail(err, e);
  }
  return nullptr;
}

int cvd_store_port(const cvd_store* s) { return s->store->getPort(); }

void cvd_store_free(cvd_store* s) { delete s; }

int cvd_store_set(cvd_store* s, const char* key, const char* value, char** err) {
  try {
    std::string v(value);
    s->store->set(key, std::vector<uint8_t>(v.begin(), v.end()));
    return 0;
  } catch (const std::exception& e) {
    fail(err, e);
  }
  return -1;
}

char* cvd_store_get(cvd_store* s, const char* key, char** err) {
  try {
    auto v = s->store->get(key);
    return dup(std::string(v.begin(), v.end()));
  } catch (const std::exception& e) {
    fail(err, e);
  }
  return nullptr;
}

cvd_group* cvd_group_new(cvd_store* s, const char* key_prefix, int rank, int world, const char* bind_host, const char* interfaces,
                         int64_t timeout_ms, char** missing, char** err) {
  auto timeout = std::chrono::milliseconds(timeout_ms);
  std::string prefix(key_prefix);
  try {
    s->store->set(joinedKey(prefix, rank), std::vector<uint8_t>{1});
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->threads = 1;
    std::string bind(bind_host), ifs(interfaces);
    for (size_t at = 0; at < ifs.size();) {
      size_t end = ifs.find(',', at);
      if (end == std::string::npos) {
        end = ifs.size();
      }
      if (end > at) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifs.substr(at, end - at)));
      }
      at = end + 1;
    }
    if (opts->devices.empty()) {
      opts->devices.push_back(bind.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                           : c10d::ProcessGroupGloo::createDeviceForHostname(bind));
    }
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(prefix + "pg", s->store);
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world, opts);
    std::string devices;
    for (const auto& d : opts->devices) {
      devices += (devices.empty() ? "" : ",") + d->str();
    }
    return new cvd_group{s->store, pg, world, timeout, devices};
  } catch (const std::exception& e) {
    fail(err, e);
  }
  try {
    std::string m;
    for (int r = 0; r < world; r++) {
      if (!s->store->check({joinedKey(prefix, r)})) {
        m += (m.empty() ? "" : ",") + std::to_string(r);
      }
    }
    if (!m.empty()) {
      *missing = dup(m);
    }
  } catch (const std::exception&) {
    // The store itself is gone (rank 0 left): the error says enough.
  }
  return nullptr;
}

int cvd_allreduce(cvd_group* g, void* buf, int64_t n, int dtype, char** err) {
  try {
    std::vector<at::Tensor> t{at::from_blob(buf, {n}, at::TensorOptions().dtype(scalar(dtype)))};
    g->pg->allreduce(t)->wait(g->timeout);
    return 0;
  } catch (const std::exception& e) {
    fail(err, e);
  }
  return -1;
}

int cvd_allgather(cvd_group* g, const void* in, int64_t n, void* out, int dtype, char** err) {
  try {
    auto o = at::TensorOptions().dtype(scalar(dtype));
    std::vector<at::Tensor> input{at::from_blob(const_cast<void*>(in), {n}, o)};
    std::vector<at::Tensor> outs;
    auto esz = c10::elementSize(scalar(dtype));
    for (int r = 0; r < g->world; r++) {
      outs.push_back(at::from_blob(static_cast<char*>(out) + r * n * esz, {n}, o));
    }
    std::vector<std::vector<at::Tensor>> output{outs};
    g->pg->allgather(output, input)->wait(g->timeout);
    return 0;
  } catch (const std::exception& e) {
    fail(err, e);
  }
  return -1;
}

int cvd_allreduce_tensors(cvd_group* g, void** ts, int n, int64_t bucket_bytes, char** err) {
  try {
    struct bucket {
      std::vector<at::Tensor> members;
      std::vector<at::Tensor> flat;
      c10::intrusive_ptr<c10d::Work> work;
    };
    std::vector<bucket> buckets;
    int64_t bytes = 0;
    for (int i = 0; i < n; i++) {
      const at::Tensor& t = *static_cast<at::Tensor*>(ts[i]);
      int64_t tb = t.numel() * t.element_size();
      bool fresh = buckets.empty() || bytes + tb > bucket_bytes ||
                   buckets.back().members.front().scalar_type() != t.scalar_type() ||
                   buckets.back().members.front().device() != t.device();
      if (fresh) {
        buckets.emplace_back();
        bytes = 0;
      }
      buckets.back().members.push_back(t);
      bytes += tb;
    }
    for (auto& b : buckets) {
      std::vector<at::Tensor> views;
      for (auto& t : b.members) {
        views.push_back(t.reshape({-1}));
      }
      b.flat.push_back(at::cat(views));
      b.work = g->pg->allreduce(b.flat);
    }
    for (auto& b : buckets) {
      b.work->wait(g->timeout);
      int64_t off = 0;
      for (auto& t : b.members) {
        t.copy_(b.flat[0].narrow(0, off, t.numel()).view(t.sizes()));
        off += t.numel();
      }
    }
    return 0;
  } catch (const std::exception& e) {
    fail(err, e);
  }
  return -1;
}

char* cvd_group_devices(const cvd_group* g) { return dup(g->devices); }

void cvd_group_free(cvd_group* g) { delete g; }

}  // extern "C"
