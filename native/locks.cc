// LockFile: an fd owned by the addon, carrying an OFD fcntl lock.  JS never
// sees a way to close this fd except LockFile#close, so Node's own close() of
// other descriptors on the same file can't release the lock.  Opening never
// creates the file unless asked: a missing Cyrus lock file is an error.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common.h"

namespace syncmux {

namespace {

LockMode ParseMode(const Napi::Value& value) {
  std::string mode = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (mode == "shared") return LockMode::Shared;
  if (mode == "exclusive") return LockMode::Exclusive;
  throw Napi::TypeError::New(value.Env(), "lock mode must be 'shared' or 'exclusive'");
}

}  // namespace

class LockFile : public Napi::ObjectWrap<LockFile> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "LockFile",
        {InstanceMethod<&LockFile::TryLock>("tryLock"), InstanceMethod<&LockFile::Unlock>("unlock"),
         InstanceMethod<&LockFile::SamePathInode>("samePathInode"), InstanceMethod<&LockFile::Close>("close"),
         InstanceAccessor<&LockFile::Fd>("fd")});
  }

  // new LockFile(path, write, create): src/native turns its options object into these.
  explicit LockFile(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LockFile>(info) {
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "path must be a string");
    path_ = info[0].As<Napi::String>().Utf8Value();
    const bool write = info[1].ToBoolean();
    const bool create = info[2].ToBoolean();
    int flags = (write ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0);
    fd_ = OpenRetry(path_.c_str(), flags, 0640);
    if (fd_ < 0) throw ErrnoError(info.Env(), errno, "open", path_);
  }

  ~LockFile() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  void RequireOpen(Napi::Env env) {
    if (fd_ < 0) throw ErrnoError(env, EBADF, "fcntl", path_);
  }

  Napi::Value TryLock(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env());
    int rc = TryLockFd(fd_, ParseMode(info[0]));
    if (rc == EAGAIN) return Napi::Boolean::New(info.Env(), false);
    if (rc != 0) throw ErrnoError(info.Env(), rc, "fcntl", path_);
    return Napi::Boolean::New(info.Env(), true);
  }

  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env());
    int rc = UnlockFd(fd_);
    if (rc != 0) throw ErrnoError(info.Env(), rc, "fcntl", path_);
    return info.Env().Undefined();
  }

  // True when `path` still names the inode this fd has open.  Cyrus readers
  // re-check this after locking because writers replace files by rename.
  Napi::Value SamePathInode(const Napi::CallbackInfo& info) {
    RequireOpen(info.Env());
    struct stat byFd, byPath;
    if (fstat(fd_, &byFd) != 0) throw ErrnoError(info.Env(), errno, "fstat", path_);
    if (stat(path_.c_str(), &byPath) != 0) {
      if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
      throw ErrnoError(info.Env(), errno, "stat", path_);
    }
    return Napi::Boolean::New(info.Env(), byFd.st_ino == byPath.st_ino && byFd.st_dev == byPath.st_dev);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  std::string path_;
  int fd_ = -1;
};

void InitLocks(Napi::Env env, Napi::Object exports) { exports.Set("LockFile", LockFile::Define(env)); }

}  // namespace syncmux
