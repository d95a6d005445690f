// cvd_reducer: gradients all-reduced in buckets while backward runs, the
// way DDP's c10d::Reducer overlaps them (torch/csrc/distributed/c10d/
// reducer.cpp): a post-hook on every parameter's gradient accumulator
// (torch::autograd::impl::grad_accumulator, Node::add_post_hook, as the
// Reducer registers its autograd_hook) marks the parameter ready, and a
// bucket whose parameters are all ready is flattened and handed to
// ProcessGroup::allreduce, which returns at once with a Work that gloo's
// thread completes while autograd goes on. c10d::Reducer itself is not
// used: it averages (or runs a comm hook) and writes its results into the
// gradients from a callback at the end of every backward it is prepared
// for, which a gradient cache's chunked backward (several backwards, one
// sum) cannot allow: a chunk's reduced gradient would be accumulated into
// again by the next chunk.
#include "shim.h"
#include "group.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct cvd_reducer {
  std::vector<at::Tensor> params;
  std::vector<std::shared_ptr<torch::autograd::Node>> accs;  // kept alive, as the Reducer does
  std::vector<uintptr_t> hooks;
  int64_t firstCap, cap;

  std::mutex mu;  // the hooks run on autograd's thread
  // Before the plan: the order in which gradients became ready.
  std::vector<int> order;
  std::vector<char> seen;
  // The plan: buckets of parameter indices, in launch order.
  bool planned = false;
  std::vector<std::vector<int>> buckets;
  std::vector<int> bucketOf;
  // The current step.
  int backwards = 0, predicted = 0;
  bool armed = false;
  cvd_group* g = nullptr;
  std::vector<char> ready;
  std::vector<int> waiting;  // per bucket: parameters not yet ready
  size_t next = 0;           // the next bucket to launch
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<c10::intrusive_ptr<c10d::Work>> stale;
  int launchedInBackward = 0;
  std::string hookErr;

  // launch starts bucket b's all-reduce: its gradients flattened into one
  // tensor (zeros for an undefined one).
  void launch(size_t b) {
    std::vector<at::Tensor> views;
    for (int i : buckets[b]) {
      const at::Tensor& grad = params[i].grad();
      views.push_back(grad.defined() ? grad.reshape({-1}) : at::zeros({params[i].numel()}, params[i].options()));
    }
    flats[b] = at::cat(views);
    std::vector<at::Tensor> t{flats[b]};
    works[b] = g->pg->allreduce(t);
  }

  // resetStep clears the launches of one backward.
  void resetLaunches() {
    flats.assign(buckets.size(), at::Tensor());
    works.assign(buckets.size(), c10::intrusive_ptr<c10d::Work>());
    next = 0;
    launchedInBackward = 0;
  }

  // onReady is parameter i's hook: its gradient of this backward has been
  // accumulated.
  void onReady(int i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!planned) {
      if (!seen[i]) {
        seen[i] = 1;
        order.push_back(i);
      }
      return;
    }
    if (!armed || ready[i]) {
      return;
    }
    ready[i] = 1;
    waiting[bucketOf[i]]--;
    try {
      while (next < buckets.size() && waiting[next] == 0) {
        launch(next);
        next++;
        launchedInBackward++;
      }
    } catch (const std::exception& e) {
      hookErr = e.what();
      armed = false;
    }
  }

  // plan agrees on rank 0's ready order (c10d broadcast) and cuts the
  // buckets from it.
  void plan(cvd_group* grp) {
    int n = static_cast<int>(params.size());
    std::vector<int64_t> ord(order.begin(), order.end());
    for (int i = 0; i < n; i++) {
      if (!seen[i]) {
        ord.push_back(i);  // never ready: last, in the given order
      }
    }
    at::Tensor t = at::tensor(ord, at::kLong);
    std::vector<at::Tensor> ts{t};
    grp->pg->broadcast(ts)->wait(grp->timeout);
    std::vector<char> have(n, 0);
    int64_t bytes = 0;
    for (int64_t k = 0; k < n; k++) {
      int64_t i = t[k].item<int64_t>();
      TORCH_CHECK(i >= 0 && i < n && !have[i], "rank 0's gradient order names parameter ", i, " of ", n, " twice or out of range");
      have[i] = 1;
      const at::Tensor& p = params[i];
      int64_t pb = p.numel() * p.element_size();
      int64_t limit = buckets.size() <= 1 ? firstCap : cap;
      bool fresh = buckets.empty() || bytes + pb > limit ||
                   params[buckets.back().front()].scalar_type() != p.scalar_type() ||
                   params[buckets.back().front()].device() != p.device();
      if (fresh) {
        buckets.emplace_back();
        bytes = 0;
      }
      buckets.back().push_back(static_cast<int>(i));
      bucketOf[i] = static_cast<int>(buckets.size()) - 1;
      bytes += pb;
    }
    planned = true;
  }
};

extern "C" {

cvd_reducer* cvd_reducer_new(void** ps, int n, int64_t first_bucket_bytes, int64_t bucket_bytes, char** err) {
  auto* r = new cvd_reducer();
  r->firstCap = first_bucket_bytes;
  r->cap = bucket_bytes;
  try {
    for (int i = 0; i < n; i++) {
      const at::Tensor& p = *static_cast<at::Tensor*>(ps[i]);
      auto acc = torch::autograd::impl::grad_accumulator(p);
      TORCH_CHECK(acc, "parameter ", i, " is not a leaf that requires grad");
      r->params.push_back(p);
      r->accs.push_back(acc);
      r->hooks.push_back(acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [r, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
            r->onReady(i);
            return outputs;
          })));
    }
  } catch (const std::exception& e) {
    cvd::fail(err, e);
    cvd_reducer_free(r);
    return nullptr;
  }
  r->seen.assign(n, 0);
  r->ready.assign(n, 0);
  r->bucketOf.assign(n, 0);
  return r;
}

void cvd_reducer_prepare(cvd_reducer* r, cvd_group* g) {
  std::lock_guard<std::mutex> lock(r->mu);
  r->backwards++;
  // An armed backward that turns out not to be the step's last: every rank
  // launched its buckets alike, so they are waited for, and discarded.
  for (auto& w : r->works) {
    if (w) {
      r->stale.push_back(w);
    }
  }
  r->armed = r->planned && g != nullptr && r->backwards == r->predicted && r->hookErr.empty();
  r->g = g;
  r->resetLaunches();
  r->ready.assign(r->params.size(), 0);
  r->waiting.clear();
  for (auto& b : r->buckets) {
    r->waiting.push_back(static_cast<int>(b.size()));
  }
}

int cvd_reducer_finish(cvd_reducer* r, cvd_group* g, int* launched, int* buckets, char** err) {
  std::lock_guard<std::mutex> lock(r->mu);
  bool armed = r->armed;
  r->armed = false;
  r->predicted = r->backwards;
  r->backwards = 0;
  *launched = 0;
  *buckets = 0;
  try {
    TORCH_CHECK(r->hookErr.empty(), "all-reduce started during backward: ", r->hookErr);
    for (auto& w : r->stale) {
      w->wait(g->timeout);
    }
    r->stale.clear();
    if (!r->planned) {
      r->plan(g);
    }
    r->g = g;
    if (!armed) {
      r->resetLaunches();
    }
    *launched = r->launchedInBackward;
    *buckets = static_cast<int>(r->buckets.size());
    for (size_t b = 0; b < r->buckets.size(); b++) {
      if (!r->works[b]) {
        r->launch(b);
      }
    }
    for (size_t b = 0; b < r->buckets.size(); b++) {
      r->works[b]->wait(g->timeout);
      int64_t off = 0;
      for (int i : r->buckets[b]) {
        at::Tensor grad = r->params[i].mutable_grad();
        int64_t n = r->params[i].numel();
        if (grad.defined()) {
          grad.copy_(r->flats[b].narrow(0, off, n).view(grad.sizes()));
        }
        off += n;
      }
    }
    r->resetLaunches();
    return 0;
  } catch (const std::exception& e) {
    cvd::fail(err, e);
    r->stale.clear();
    r->resetLaunches();
  }
  return -1;
}

void cvd_reducer_free(cvd_reducer* r) {
  if (r == nullptr) {
    return;
  }
  for (size_t i = 0; i < r->hooks.size(); i++) {
    r->accs[i]->del_post_hook(r->hooks[i]);
  }
  delete r;
}

}  // extern "C"
