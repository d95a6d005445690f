// Internal to the shim's C++ files (shim.cpp, reducer.cpp): what a group
// is and how a C++ exception becomes an error message for Go.
#ifndef CONVIRT_C10D_GROUP_HPP
#define CONVIRT_C10D_GROUP_HPP

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

struct cvd_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int world;
  std::chrono::milliseconds timeout;
  // devices describes gloo's TCP devices (their addresses), comma-separated.
  std::string devices;
};

namespace cvd {

// dup is s as a malloc'd C string, which the Go side frees.
inline char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// fail sets *err to e's message (c10's without its backtrace).
inline void fail(char** err, const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) {
    *err = dup(c->what_without_backtrace());
  } else {
    *err = dup(e.what());
  }
}

}  // namespace cvd

#endif
