// Cyrus sync-log file protocol (imap/sync_log.c @3.6.1), both halves:
//  - appendLog: the writer.  open(O_RDWR|O_APPEND|O_CREAT, 0640), exclusive
//    whole-file lock, check the path still names our inode (a reader may have
//    renamed it to log-run meanwhile), cut a torn tail back to its last
//    newline, write, fdatasync, unlock, close.  Many lines in one call is our
//    group commit: one sync for the batch.
//  - handOffLog: the reader.  rename(log, log-run), then
//    take and drop the lock on log-run to wait out writers that opened the old
//    inode before the rename.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common.h"

namespace syncmux {

namespace {

constexpr int kAppendRetries = 64;  // SYNC_LOG_RETRIES

struct AppendResult {
  int err = 0;
  const char* syscall = "";
  size_t written = 0;
};

int WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

// A writer killed mid-append leaves a last line without its newline, and
// the next append would join onto it: one line made of two, which can parse
// as a different valid line.  Cut such a tail back to the last complete
// line.  Its bytes were never acknowledged: whoever wrote them replays the
// whole batch.  Returns 0 or an errno.
int CutTornTail(int fd, off_t size) {
  if (size <= 0) return 0;
  char last;
  if (pread(fd, &last, 1, size - 1) != 1) return errno ? errno : EIO;
  if (last == '\n') return 0;
  char buf[4096];
  off_t end = size;
  while (end > 0) {
    off_t start = end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    ssize_t n = pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n <= 0) return n < 0 ? errno : EIO;
    for (ssize_t i = n - 1; i >= 0; i--) {
      if (buf[i] == '\n') return ftruncate(fd, start + i + 1) == 0 ? 0 : errno;
    }
    end = start;
  }
  return ftruncate(fd, 0) == 0 ? 0 : errno;
}

AppendResult AppendLocked(const std::string& path, const std::string& data, bool sync, int timeoutMs,
                          const CancelToken& cancel) {
  for (int attempt = 0; attempt < kAppendRetries; attempt++) {
    // Read access too, to look at the tail (CutTornTail).
    int fd = OpenRetry(path.c_str(), O_RDWR | O_APPEND | O_CREAT, 0640);
    if (fd < 0) return {errno, "open"};
    int rc = WaitLockFd(fd, LockMode::Exclusive, timeoutMs, cancel);
    if (rc != 0) {
      close(fd);
      return {rc, "fcntl"};
    }
    struct stat byFd, byPath;
    if (fstat(fd, &byFd) != 0 || stat(path.c_str(), &byPath) != 0 || byFd.st_ino != byPath.st_ino ||
        byFd.st_dev != byPath.st_dev) {
      UnlockFd(fd);
      close(fd);
      continue;  // renamed under us: a new log will be created on the next open
    }
    const char* syscall = "ftruncate";
    rc = CutTornTail(fd, byFd.st_size);
    if (rc == 0) {
      rc = WriteAll(fd, data);
      syscall = "write";
    }
    if (rc == 0 && sync && fdatasync(fd) != 0) {
      rc = errno;
      syscall = "fdatasync";
    }
    UnlockFd(fd);
    close(fd);
    if (rc != 0) return {rc, syscall};
    return {0, "", data.size()};
  }
  return {EAGAIN, "open"};
}

enum class HandOff { Empty, Taken, Reprocess };

struct HandOffResult {
  int err = 0;
  const char* syscall = "";
  std::string errPath;
  HandOff state = HandOff::Empty;
};

HandOffResult HandOffLocked(const std::string& log, const std::string& run, int timeoutMs,
                            const CancelToken& cancel) {
  struct stat st;
  if (stat(run.c_str(), &st) == 0) return {0, "", "", HandOff::Reprocess};
  if (errno != ENOENT) return {errno, "stat", run};
  if (stat(log.c_str(), &st) != 0) {
    if (errno == ENOENT) return {0, "", "", HandOff::Empty};
    return {errno, "stat", log};
  }
  // No directory fsync here, as Cyrus's own reader: a rename lost to a crash
  // only brings `log` back whole, and its lines are replayed (state-based,
  // so harmless).  What must be durable first (shard logs, the journal) is
  // made so before `log-run` is removed, by the caller.
  if (rename(log.c_str(), run.c_str()) != 0) return {errno, "rename", log};
  int fd = OpenRetry(run.c_str(), O_RDWR, 0);
  if (fd < 0) return {errno, "open", run};
  int rc = WaitLockFd(fd, LockMode::Exclusive, timeoutMs, cancel);
  if (rc == 0) UnlockFd(fd);
  close(fd);
  // Even on a timeout the rename stands: log-run is now ours and will be
  // reprocessed, so report the state rather than undo it.
  if (rc != 0) return {rc, "fcntl", run, HandOff::Taken};
  return {0, "", "", HandOff::Taken};
}

const char* HandOffName(HandOff state) {
  switch (state) {
    case HandOff::Taken:
      return "taken";
    case HandOff::Reprocess:
      return "reprocess";
    default:
      return "empty";
  }
}

// Copies the chunks into one contiguous string: the copy is noise next to
// an fdatasync, and it frees the async path from pinning JS buffers. Bytes
// only: src/native/index.ts turns the project's byte strings into Buffers,
// so nothing here re-encodes them.
std::string Gather(const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), "log data must be an array of Uint8Arrays");
  std::string out;
  auto array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value chunk = array.Get(i);
    if (!chunk.IsTypedArray())
      throw Napi::TypeError::New(chunk.Env(), "log data must be an array of Uint8Arrays");
    auto bytes = chunk.As<Napi::Uint8Array>();
    out.append(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  }
  return out;
}

// (path, chunks, sync, timeoutMs): src/native/index.ts checks and defaults them.
struct AppendOptions {
  bool sync = true;
  int timeoutMs = -1;
};

AppendOptions AppendArgs(const Napi::CallbackInfo& info) {
  AppendOptions opts;
  opts.sync = info[2].ToBoolean();
  opts.timeoutMs = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : -1;
  return opts;
}

std::string RequirePath(const Napi::Value& value) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), "path must be a string");
  return value.As<Napi::String>().Utf8Value();
}

Napi::Value AppendLog(const Napi::CallbackInfo& info) {
  std::string path = RequirePath(info[0]);
  auto data = std::make_shared<std::string>(Gather(info[1]));
  AppendOptions opts = AppendArgs(info);
  CancelToken cancel = CancelToken::From(info.Env());
  return PromiseWorker<AppendResult>::Queue(
      info.Env(), [=] { return AppendLocked(path, *data, opts.sync, opts.timeoutMs, cancel); },
      [path](Napi::Env env, AppendResult& r) -> Napi::Value {
        if (r.err) throw ErrnoError(env, r.err, r.syscall, path);
        return Napi::Number::New(env, static_cast<double>(r.written));
      });
}

int TimeoutArg(const Napi::Value& value) {
  return value.IsNumber() ? value.As<Napi::Number>().Int32Value() : -1;
}

Napi::Value HandOffLogSync(const Napi::CallbackInfo& info) {
  std::string log = RequirePath(info[0]), run = RequirePath(info[1]);
  HandOffResult r = HandOffLocked(log, run, TimeoutArg(info[2]), CancelToken::From(info.Env()));
  if (r.err) throw ErrnoError(info.Env(), r.err, r.syscall, r.errPath);
  return Napi::String::New(info.Env(), HandOffName(r.state));
}

Napi::Value HandOffLog(const Napi::CallbackInfo& info) {
  std::string log = RequirePath(info[0]), run = RequirePath(info[1]);
  int timeoutMs = TimeoutArg(info[2]);
  CancelToken cancel = CancelToken::From(info.Env());
  return PromiseWorker<HandOffResult>::Queue(
      info.Env(), [=] { return HandOffLocked(log, run, timeoutMs, cancel); },
      [](Napi::Env env, HandOffResult& r) -> Napi::Value {
        if (r.err) throw ErrnoError(env, r.err, r.syscall, r.errPath);
        return Napi::String::New(env, HandOffName(r.state));
      });
}

Napi::Value FsyncDir(const Napi::CallbackInfo& info) {
  std::string path = RequirePath(info[0]);
  int fd = OpenRetry(path.c_str(), O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) throw ErrnoError(info.Env(), errno, "open", path);
  int rc = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  if (rc) throw ErrnoError(info.Env(), rc, "fsync", path);
  return info.Env().Undefined();
}

}  // namespace

void InitLogFile(Napi::Env env, Napi::Object exports) {
  exports.Set("appendLog", Napi::Function::New(env, AppendLog, "appendLog"));
  exports.Set("handOffLogSync", Napi::Function::New(env, HandOffLogSync, "handOffLogSync"));
  exports.Set("handOffLog", Napi::Function::New(env, HandOffLog, "handOffLog"));
  exports.Set("fsyncDir", Napi::Function::New(env, FsyncDir, "fsyncDir"));
}

}  // namespace syncmux
