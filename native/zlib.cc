// Raw DEFLATE streams for the replica connection's COMPRESS layer, called
// synchronously: a pipelined flight is a few hundred bytes, and handing it
// to node:zlib's stream costs two libuv pool round trips, a flush and a
// stream event per write, more than the compression itself.  A large write
// (a message body) can run on the pool instead (RawDeflate.pushAsync), so it
// neither blocks the event loop nor serializes with it; the JS side
// (src/protocol/deflate-link.ts) keeps one operation at a time per stream.
// zlib comes from the node binary, which exports it, as node:zlib uses it.
#include <zlib.h>

#include <string>

#include "common.h"

namespace syncmux {
namespace {

constexpr size_t kOutChunk = 16 * 1024;

// Runs zlib over all of `in` with `flush`, appending the output to `out`.
// Returns a zlib error code, Z_OK when every input byte was taken.
int Drive(z_stream* zs, bool deflating, const unsigned char* in, size_t len, int flush, std::string* out) {
  zs->next_in = const_cast<unsigned char*>(in);
  zs->avail_in = static_cast<uInt>(len);
  unsigned char buf[kOutChunk];
  for (;;) {
    zs->next_out = buf;
    zs->avail_out = sizeof buf;
    int rc = deflating ? deflate(zs, flush) : inflate(zs, flush);
    out->append(reinterpret_cast<char*>(buf), sizeof buf - zs->avail_out);
    if (rc == Z_STREAM_END) return zs->avail_in == 0 ? Z_OK : Z_DATA_ERROR;
    if (rc == Z_BUF_ERROR) return Z_OK;  // no progress possible: all input taken, output flushed
    if (rc != Z_OK) return rc;
    if (zs->avail_in == 0 && zs->avail_out != 0) return Z_OK;
  }
}

Napi::Error ZlibError(Napi::Env env, const char* what, z_stream* zs, int rc) {
  std::string message = std::string(what) + ": " + (zs->msg ? zs->msg : zError(rc));
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, "EZLIB"));
  return error;
}

Napi::Buffer<char> ToBuffer(Napi::Env env, const std::string& data) {
  return Napi::Buffer<char>::Copy(env, data.data(), data.size());
}

class RawStream : public Napi::ObjectWrap<RawStream> {
 public:
  static Napi::Function Define(Napi::Env env, const char* name, bool deflating);

  explicit RawStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawStream>(info) {
    deflating_ = info.Data() != nullptr;
    int rc;
    if (deflating_) {
      int level = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value()
                                                          : Z_DEFAULT_COMPRESSION;
      rc = deflateInit2(&zs_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    } else {
      rc = inflateInit2(&zs_, -15);
    }
    if (rc != Z_OK) {
      ZlibError(info.Env(), deflating_ ? "deflateInit2" : "inflateInit2", &zs_, rc)
          .ThrowAsJavaScriptException();
      return;
    }
    open_ = true;
  }

  ~RawStream() override { End(); }

  // push(buf): what buf becomes, flushed to a byte boundary (Z_SYNC_FLUSH).
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_ || busy_) {
      Napi::Error::New(env, open_ ? "stream busy with an asynchronous push" : "stream closed")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto in = info[0].As<Napi::Buffer<unsigned char>>();
    std::string out;
    int rc = Drive(&zs_, deflating_, in.Data(), in.Length(), Z_SYNC_FLUSH, &out);
    if (rc != Z_OK) {
      ZlibError(env, deflating_ ? "deflate" : "inflate", &zs_, rc).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return ToBuffer(env, out);
  }

  // pushAsync(buf, cb(err, out)): push on a libuv pool thread.
  Napi::Value PushAsync(const Napi::CallbackInfo& info);

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!busy_) End();
    return info.Env().Undefined();
  }

 private:
  friend class PushWorker;

  void End() {
    if (!open_) return;
    if (deflating_)
      deflateEnd(&zs_);
    else
      inflateEnd(&zs_);
    open_ = false;
  }

  z_stream zs_{};
  bool deflating_ = true;
  bool open_ = false;
  bool busy_ = false;
};

class PushWorker : public Napi::AsyncWorker {
 public:
  PushWorker(Napi::Function cb, RawStream* stream, Napi::Buffer<unsigned char> in)
      : Napi::AsyncWorker(cb), stream_(stream), data_(in.Data()), length_(in.Length()) {
    self_ = Napi::Persistent(stream->Value());
    input_ = Napi::Persistent(in);
  }

  void Execute() override {
    rc_ = Drive(&stream_->zs_, stream_->deflating_, data_, length_, Z_SYNC_FLUSH, &out_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    stream_->busy_ = false;
    if (rc_ != Z_OK) {
      Callback().Call(
          {ZlibError(env, stream_->deflating_ ? "deflate" : "inflate", &stream_->zs_, rc_).Value()});
      return;
    }
    Callback().Call({env.Null(), ToBuffer(env, out_)});
  }

 private:
  RawStream* stream_;
  const unsigned char* data_;
  size_t length_;
  Napi::ObjectReference self_;
  Napi::Reference<Napi::Buffer<unsigned char>> input_;
  int rc_ = Z_OK;
  std::string out_;
};

Napi::Value RawStream::PushAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!open_ || busy_) {
    Napi::Error::New(env, open_ ? "stream busy with an asynchronous push" : "stream closed")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  busy_ = true;
  (new PushWorker(info[1].As<Napi::Function>(), this, info[0].As<Napi::Buffer<unsigned char>>()))->Queue();
  return env.Undefined();
}

Napi::Function RawStream::Define(Napi::Env env, const char* name, bool deflating) {
  // The constructor's data tells the two kinds apart: non-null for deflate.
  static int deflateTag = 1;
  return DefineClass(
      env, name,
      {InstanceMethod<&RawStream::Push>("push"), InstanceMethod<&RawStream::PushAsync>("pushAsync"),
       InstanceMethod<&RawStream::Close>("close")},
      deflating ? &deflateTag : nullptr);
}

}  // namespace

void InitZlib(Napi::Env env, Napi::Object exports) {
  exports.Set("RawDeflate", RawStream::Define(env, "RawDeflate", true));
  exports.Set("RawInflate", RawStream::Define(env, "RawInflate", false));
}

}  // namespace syncmux
