// Shared pieces of the syncmux addon: errno-style JS errors, the per-thread
// cancel flag, and the bounded OFD lock wait every blocking call is built on.
//
// Why OFD locks: Cyrus (Debian's 3.6.1 build, lib/lock_fcntl.c) takes classic
// POSIX fcntl locks.  On Linux, OFD locks conflict with those, so we interoperate,
// but they belong to the open file description rather than the process: closing
// some other fd on the same file never drops them, and two worker threads can't
// both believe they hold the same lock.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace syncmux {

// Per-env (per JS thread) state.  The cancel flag is shared with in-flight
// AsyncWorkers so cancelPending() can cut their waits short before
// worker.terminate() has to wait for them.
struct EnvState {
  std::shared_ptr<std::atomic<unsigned>> cancelGeneration = std::make_shared<std::atomic<unsigned>>(0);
};

EnvState& State(Napi::Env env);

// A JS Error shaped like node:fs errors: message "CODE: text, syscall 'path'",
// with .code, .errno (negative, as libuv), .syscall and .path.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path);

// Errors the wait helpers return in addition to real errno values.
constexpr int kErrTimedOut = ETIMEDOUT;
constexpr int kErrCanceled = ECANCELED;

// Something a blocking wait can observe to stop early.
struct CancelToken {
  std::shared_ptr<std::atomic<unsigned>> generation;
  unsigned startedAt = 0;
  bool canceled() const { return generation && generation->load() != startedAt; }
  static CancelToken From(Napi::Env env) {
    auto& gen = State(env).cancelGeneration;
    return CancelToken{gen, gen->load()};
  }
};

enum class LockMode { Shared, Exclusive };

// Non-blocking attempt. Returns 0 on success, EAGAIN if held elsewhere, or errno.
int TryLockFd(int fd, LockMode mode);
// Polls TryLockFd with a 0.5 ms to 20 ms backoff until timeoutMs passes
// (negative = forever) or the token is canceled.  Polling rather than
// F_OFD_SETLKW is deliberate: a thread blocked in the kernel can't be
// interrupted, and Node waits for it before a worker can terminate.
int WaitLockFd(int fd, LockMode mode, int timeoutMs, const CancelToken& cancel);
int UnlockFd(int fd);
// fsync the directory holding `path`, so a rename or create in it is durable.
int FsyncParentDir(const std::string& path);

// Retries on EINTR; -1/errno semantics like the syscall.
int OpenRetry(const char* path, int flags, int mode);

// The one AsyncWorker behind every promise the addon returns: `work` runs
// on the libuv pool and touches no JS; back on the JS thread `settle` turns
// its result into the resolution value, or throws a Napi::Error to reject;
// `after` then runs however it ended (bookkeeping such as a busy flag).
// Whatever the lambdas capture (a Persistent keeping an object alive) is
// released on the JS thread, when the worker is deleted.
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Settle = std::function<Napi::Value(Napi::Env, Result&)>;
  using After = std::function<void()>;

  static Napi::Promise Queue(Napi::Env env, Work work, Settle settle, After after = nullptr) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(settle), std::move(after));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Napi::AsyncWorker::Queue();
    return promise;
  }

 protected:
  void Execute() override { result_ = work_(); }
  void OnOK() override {
    if (after_) after_();
    try {
      deferred_.Resolve(settle_(Env(), result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    if (after_) after_();
    deferred_.Reject(e.Value());
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Settle settle, After after)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        settle_(std::move(settle)),
        after_(std::move(after)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Settle settle_;
  After after_;
  Result result_{};
};

}  // namespace syncmux
