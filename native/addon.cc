// Module entry: registers every native function and owns the per-env state
// and the helpers in common.h.  The JS side (src/native) owns the typed API
// and the documentation; this file only wires symbols.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <string>
#include <thread>

#include "common.h"

namespace syncmux {

void InitHash(Napi::Env env, Napi::Object exports);
void InitIndexScan(Napi::Env env, Napi::Object exports);
void InitLocks(Napi::Env env, Napi::Object exports);
void InitLogFile(Napi::Env env, Napi::Object exports);
void InitSyslog(Napi::Env env, Napi::Object exports);
void InitSasl(Napi::Env env, Napi::Object exports);
void InitZlib(Napi::Env env, Napi::Object exports);

EnvState& State(Napi::Env env) { return *env.GetInstanceData<EnvState>(); }

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

int TryLockFd(int fd, LockMode mode) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = mode == LockMode::Exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;  // whole file: l_start = l_len = 0, as lib/lock_fcntl.c
  for (;;) {
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EACCES) return EAGAIN;
    return errno;
  }
}

int WaitLockFd(int fd, LockMode mode, int timeoutMs, const CancelToken& cancel) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs < 0 ? 0 : timeoutMs);
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    int rc = TryLockFd(fd, mode);
    if (rc != EAGAIN) return rc;
    if (cancel.canceled()) return kErrCanceled;
    const auto now = Clock::now();
    if (timeoutMs >= 0 && now >= deadline) return kErrTimedOut;
    auto sleepFor = pause;
    if (timeoutMs >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
      if (left < sleepFor) sleepFor = left;
    }
    std::this_thread::sleep_for(sleepFor);
    if (pause < std::chrono::milliseconds(20)) pause *= 2;
  }
}

int UnlockFd(int fd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

int OpenRetry(const char* path, int flags, int mode) {
  for (;;) {
    int fd = open(path, flags | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

int FsyncParentDir(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = OpenRetry(dir.c_str(), O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return errno;
  int rc = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return rc;
}

static Napi::Value CancelPending(const Napi::CallbackInfo& info) {
  State(info.Env()).cancelGeneration->fetch_add(1);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new EnvState());
  InitHash(env, exports);
  InitIndexScan(env, exports);
  InitLocks(env, exports);
  InitLogFile(env, exports);
  InitSyslog(env, exports);
  InitSasl(env, exports);
  InitZlib(env, exports);
  exports.Set("cancelPending", Napi::Function::New(env, CancelPending, "cancelPending"));
  return exports;
}

}  // namespace syncmux

static Napi::Object InitSyncmux(Napi::Env env, Napi::Object exports) { return syncmux::Init(env, exports); }

NODE_API_MODULE(syncmux, InitSyncmux)
