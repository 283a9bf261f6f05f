// Client-side Cyrus SASL (libsasl2), as stock sync_client authenticates
// (imap/backend.c backend_authenticate + imap/saslclient.c).
//
// Why dlopen("libsasl2.so.2") and not -lsasl2: syncmux is a drop-in that must
// build and load on any host where Cyrus runs, with or without libsasl2-dev,
// and a missing library must cost only the mechanisms it brings (the JS side
// then keeps its own PLAIN/LOGIN).  Linking would make the whole addon (locks,
// sync-log protocol, syslog) fail to load without libsasl2.so.2, and building
// would need the headers.  A second, optional addon target would need its
// own build switch and a second load path.  dlopen keeps one addon, one build,
// and decides at run time: libsasl2 is used whenever it is installed (it is a
// dependency of cyrus-common, so on a Cyrus host it always is).  When
// <sasl/sasl.h> is present at build time we compile against it, so the types
// and constants are checked; otherwise the few we need are declared below
// from the stable libsasl2 ABI (SASL_VERSION 2).
//
// Thin by design: JS validates options, chooses mechanisms, speaks the wire
// protocol and owns the API (src/native/index.ts).  This file wraps one
// sasl_conn_t: start/step run on the libuv pool (GSSAPI may reach the KDC),
// encode/decode of an established security layer run inline (local crypto,
// and their order must match the byte stream's).  The password lives only in
// a sasl_secret_t owned here and is wiped on dispose; it never appears in an
// error (libsasl2's errdetail never carries it).
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "common.h"

#if __has_include(<sasl/sasl.h>) && !defined(SYNCMUX_OWN_SASL_DECLS)
#include <sasl/sasl.h>
#else
extern "C" {
typedef struct sasl_conn sasl_conn_t;
typedef unsigned sasl_ssf_t;
typedef struct sasl_secret {
  unsigned long len;  // NOLINT(runtime/int): libsasl2's ABI
  unsigned char data[1];
} sasl_secret_t;
typedef struct sasl_security_properties {
  sasl_ssf_t min_ssf;
  sasl_ssf_t max_ssf;
  unsigned maxbufsize;
  unsigned security_flags;
  const char** property_names;
  const char** property_values;
} sasl_security_properties_t;
typedef int (*sasl_callback_ft)(void);
typedef struct sasl_callback {
  unsigned long id;  // NOLINT(runtime/int): libsasl2's ABI
  int (*proc)(void);
  void* context;
} sasl_callback_t;
typedef struct sasl_interact sasl_interact_t;
int sasl_client_init(const sasl_callback_t*);
int sasl_client_new(const char*, const char*, const char*, const char*, const sasl_callback_t*, unsigned,
                    sasl_conn_t**);
int sasl_setprop(sasl_conn_t*, int, const void*);
int sasl_getprop(sasl_conn_t*, int, const void**);
int sasl_client_start(sasl_conn_t*, const char*, sasl_interact_t**, const char**, unsigned*, const char**);
int sasl_client_step(sasl_conn_t*, const char*, unsigned, sasl_interact_t**, const char**, unsigned*);
int sasl_encode(sasl_conn_t*, const char*, unsigned, const char**, unsigned*);
int sasl_decode(sasl_conn_t*, const char*, unsigned, const char**, unsigned*);
void sasl_dispose(sasl_conn_t**);
const char* sasl_errdetail(sasl_conn_t*);
const char* sasl_errstring(int, const char*, const char**);
typedef void* sasl_mutex_alloc_t(void);
typedef int sasl_mutex_lock_t(void*);
typedef int sasl_mutex_unlock_t(void*);
typedef void sasl_mutex_free_t(void*);
void sasl_set_mutex(sasl_mutex_alloc_t*, sasl_mutex_lock_t*, sasl_mutex_unlock_t*, sasl_mutex_free_t*);
}
#define SASL_CONTINUE 1
#define SASL_OK 0
#define SASL_FAIL (-1)
#define SASL_NOMECH (-4)
#define SASL_INTERACT 2
#define SASL_CB_LIST_END 0
#define SASL_CB_AUTHNAME 0x4002
#define SASL_CB_PASS 0x4004
#define SASL_CB_GETREALM 0x4008
#define SASL_SUCCESS_DATA 0x0004
#define SASL_SSF 1
#define SASL_MAXOUTBUF 2
#define SASL_SSF_EXTERNAL 100
#define SASL_SEC_PROPS 101
#define SASL_AUTH_EXTERNAL 102
#endif

namespace syncmux {

namespace {

struct Api {
  decltype(&sasl_set_mutex) set_mutex;
  decltype(&sasl_client_init) client_init;
  decltype(&sasl_client_new) client_new;
  decltype(&sasl_setprop) setprop;
  decltype(&sasl_getprop) getprop;
  decltype(&sasl_client_start) client_start;
  decltype(&sasl_client_step) client_step;
  decltype(&sasl_encode) encode;
  decltype(&sasl_decode) decode;
  decltype(&sasl_dispose) dispose;
  decltype(&sasl_errdetail) errdetail;
  decltype(&sasl_errstring) errstring;
};

std::once_flag loadOnce;
Api api;
std::string loadError;  // NOLINT(runtime/string): set once under loadOnce; empty once loaded

void* MutexAlloc() {
  auto* m = static_cast<pthread_mutex_t*>(malloc(sizeof(pthread_mutex_t)));
  if (m) pthread_mutex_init(m, nullptr);
  return m;
}
int MutexLock(void* m) {
  return pthread_mutex_lock(static_cast<pthread_mutex_t*>(m)) == 0 ? SASL_OK : SASL_FAIL;
}
int MutexUnlock(void* m) {
  return pthread_mutex_unlock(static_cast<pthread_mutex_t*>(m)) == 0 ? SASL_OK : SASL_FAIL;
}
void MutexFree(void* m) {
  if (!m) return;
  pthread_mutex_destroy(static_cast<pthread_mutex_t*>(m));
  free(m);
}

void Load() {
  void* h = dlopen("libsasl2.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    loadError = std::string("libsasl2 unavailable: ") + (e ? e : "dlopen failed");
    return;
  }
  bool ok = true;
  auto sym = [&](const char* name) {
    void* p = dlsym(h, name);
    if (!p) ok = false;
    return p;
  };
  api.set_mutex = reinterpret_cast<decltype(api.set_mutex)>(sym("sasl_set_mutex"));
  api.client_init = reinterpret_cast<decltype(api.client_init)>(sym("sasl_client_init"));
  api.client_new = reinterpret_cast<decltype(api.client_new)>(sym("sasl_client_new"));
  api.setprop = reinterpret_cast<decltype(api.setprop)>(sym("sasl_setprop"));
  api.getprop = reinterpret_cast<decltype(api.getprop)>(sym("sasl_getprop"));
  api.client_start = reinterpret_cast<decltype(api.client_start)>(sym("sasl_client_start"));
  api.client_step = reinterpret_cast<decltype(api.client_step)>(sym("sasl_client_step"));
  api.encode = reinterpret_cast<decltype(api.encode)>(sym("sasl_encode"));
  api.decode = reinterpret_cast<decltype(api.decode)>(sym("sasl_decode"));
  api.dispose = reinterpret_cast<decltype(api.dispose)>(sym("sasl_dispose"));
  api.errdetail = reinterpret_cast<decltype(api.errdetail)>(sym("sasl_errdetail"));
  api.errstring = reinterpret_cast<decltype(api.errstring)>(sym("sasl_errstring"));
  if (!ok) {
    loadError = "libsasl2 unavailable: libsasl2.so.2 lacks a client symbol";
    return;
  }
  // libsasl2's own mutexes are no-ops; our steps run on several pool
  // threads at once (one per connection), so give it real ones first.
  api.set_mutex(&MutexAlloc, &MutexLock, &MutexUnlock, &MutexFree);
  // Process-wide, once, as Cyrus does at startup; plugins come from the
  // default path (or SASL_PATH).
  int r = api.client_init(nullptr);
  if (r != SASL_OK) loadError = std::string("sasl_client_init: ") + api.errstring(r, nullptr, nullptr);
}

bool Loaded() {
  std::call_once(loadOnce, Load);
  return loadError.empty();
}

// Callbacks are stored type-erased, as sasl_callback_t wants; the detour
// through void(*)() is the one cast -Wcast-function-type accepts.
template <typename F>
int (*Proc(F f))(void) {  // NOLINT(whitespace/parens): a function returning a function pointer
  return reinterpret_cast<int (*)(void)>(reinterpret_cast<void (*)()>(f));
}

std::string ErrString(int r) { return api.errstring(r, nullptr, nullptr); }

// The callbacks of imap/saslclient.c mysasl_callbacks(): authname, realm,
// password (no user/authzid: stock passes NULL for it).
int SimpleCb(void* context, int id, const char** result, unsigned* len) {
  if (!result) return -7;  // SASL_BADPARAM
  *result = static_cast<const char*>(context);
  if (len) *len = *result ? strlen(*result) : 0;
  return SASL_OK;
}
int RealmCb(void* context, int id, const char** avail, const char** result) {
  if (id != SASL_CB_GETREALM || !result) return -7;
  *result = static_cast<const char*>(context);
  return SASL_OK;
}
int SecretCb(sasl_conn_t* conn, void* context, int id, sasl_secret_t** result) {
  if (!conn || !result || id != SASL_CB_PASS) return -7;
  *result = static_cast<sasl_secret_t*>(context);
  return SASL_OK;
}

Napi::Object StepResult(Napi::Env env, int r, const std::string& mech, const std::string& out, bool hasOut,
                        const std::string& detail) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", Napi::Number::New(env, r));
  if (r != SASL_OK && r != SASL_CONTINUE) {
    o.Set("errstring", Napi::String::New(env, ErrString(r)));
    o.Set("detail", Napi::String::New(env, detail));
  }
  if (!mech.empty()) o.Set("mech", Napi::String::New(env, mech));
  if (hasOut)
    o.Set("output", Napi::Buffer<char>::Copy(env, out.data(), out.size()));
  else
    o.Set("output", env.Null());
  return o;
}

}  // namespace

class SaslClient : public Napi::ObjectWrap<SaslClient> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "SaslClient",
        {InstanceMethod<&SaslClient::Start>("start"), InstanceMethod<&SaslClient::Step>("step"),
         InstanceMethod<&SaslClient::Encode>("encode"), InstanceMethod<&SaslClient::Decode>("decode"),
         InstanceMethod<&SaslClient::Ssf>("ssf"), InstanceMethod<&SaslClient::MaxOutBuf>("maxOutBuf"),
         InstanceMethod<&SaslClient::Dispose>("dispose")});
  }

  // new SaslClient(service, serverFQDN, localIpPort, remoteIpPort, authname|null,
  //                realm|null, password: Buffer|null, flags, minSsf, maxSsf,
  //                maxbufsize, externalSsf, externalAuthId|null)
  explicit SaslClient(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SaslClient>(info) {
    Napi::Env env = info.Env();
    if (!Loaded()) throw Napi::Error::New(env, loadError);
    auto str = [&](int i) { return info[i].As<Napi::String>().Utf8Value(); };
    auto num = [&](int i) { return info[i].As<Napi::Number>().Uint32Value(); };
    for (int i : {0, 1, 2, 3})
      if (!info[i].IsString()) throw Napi::TypeError::New(env, "SaslClient: bad arguments");
    for (int i : {7, 8, 9, 10, 11})
      if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "SaslClient: bad arguments");
    std::string service = str(0), host = str(1), local = str(2), remote = str(3);
    int n = 0;
    if (info[4].IsString()) {
      authname_ = str(4);
      cbs_[n++] = {SASL_CB_AUTHNAME, Proc(&SimpleCb),
                   static_cast<void*>(const_cast<char*>(authname_.c_str()))};
    }
    if (info[5].IsString()) {
      realm_ = str(5);
      cbs_[n++] = {SASL_CB_GETREALM, Proc(&RealmCb), static_cast<void*>(const_cast<char*>(realm_.c_str()))};
    }
    if (info[6].IsBuffer()) {
      auto pw = info[6].As<Napi::Buffer<char>>();
      secretSize_ = sizeof(sasl_secret_t) + pw.Length();
      secret_ = static_cast<sasl_secret_t*>(calloc(1, secretSize_));
      secret_->len = pw.Length();
      memcpy(secret_->data, pw.Data(), pw.Length());
      cbs_[n++] = {SASL_CB_PASS, Proc(&SecretCb), secret_};
    }
    cbs_[n] = {SASL_CB_LIST_END, nullptr, nullptr};
    int r = api.client_new(service.c_str(), host.c_str(), local.empty() ? nullptr : local.c_str(),
                           remote.empty() ? nullptr : remote.c_str(), cbs_, num(7), &conn_);
    if (r == SASL_OK) {
      sasl_security_properties_t props;
      memset(&props, 0, sizeof props);
      props.min_ssf = num(8);
      props.max_ssf = num(9);
      props.maxbufsize = num(10);
      r = api.setprop(conn_, SASL_SEC_PROPS, &props);
    }
    if (r == SASL_OK && num(11) > 0) {
      sasl_ssf_t ext = num(11);
      r = api.setprop(conn_, SASL_SSF_EXTERNAL, &ext);
    }
    if (r == SASL_OK && info[12].IsString()) {
      std::string id = str(12);
      r = api.setprop(conn_, SASL_AUTH_EXTERNAL, id.c_str());  // copied by libsasl2
    }
    if (r != SASL_OK) {
      Release();
      Napi::Error e = Napi::Error::New(env, "sasl_client_new: " + ErrString(r));
      e.Set("saslCode", Napi::Number::New(env, r));
      throw e;
    }
  }

  ~SaslClient() override { Release(); }

 private:
  // What one sasl_client_start/step said, copied on the pool thread.
  struct StepOutcome {
    int r = SASL_FAIL;
    std::string mech, out, detail;
    bool hasOut = false;
  };

  StepOutcome RunOnPool(bool start, const std::string& input) {
    StepOutcome o;
    const char* out = nullptr;
    unsigned outlen = 0;
    const char* mech = nullptr;
    if (start) {
      // Always ask for an initial response; the caller decides whether the
      // wire can carry it (csync always; IMAP with SASL-IR).
      o.r = api.client_start(conn_, input.c_str(), nullptr, &out, &outlen, &mech);
    } else {
      o.r = api.client_step(conn_, input.data(), static_cast<unsigned>(input.size()), nullptr, &out, &outlen);
    }
    if (mech) o.mech = mech;
    if (out) {
      o.hasOut = true;
      o.out.assign(out, outlen);
    }
    if (o.r != SASL_OK && o.r != SASL_CONTINUE) {
      const char* d = api.errdetail(conn_);
      if (d) o.detail = d;
    }
    return o;
  }

  Napi::Value RunStep(const Napi::CallbackInfo& info, bool start) {
    Napi::Env env = info.Env();
    if (!conn_) throw Napi::Error::New(env, "SaslClient is disposed");
    if (busy_) throw Napi::Error::New(env, "SaslClient: a step is already running");
    std::string input;
    if (start) {
      if (!info[0].IsString()) throw Napi::TypeError::New(env, "start(mechlist: string)");
      input = info[0].As<Napi::String>().Utf8Value();
    } else {
      if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "step(challenge: Buffer)");
      auto b = info[0].As<Napi::Buffer<char>>();
      input.assign(b.Data(), b.Length());
    }
    busy_ = true;
    // Keeps this client alive while the pool runs its step.
    auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info.This().As<Napi::Object>()));
    auto in = std::make_shared<std::string>(std::move(input));
    return PromiseWorker<StepOutcome>::Queue(
        env, [this, start, in] { return RunOnPool(start, *in); },
        [self](Napi::Env env, StepOutcome& o) -> Napi::Value {
          return StepResult(env, o.r, o.mech, o.out, o.hasOut, o.detail);
        },
        [this] {
          busy_ = false;
          if (disposeLater_) Release();
        });
  }

  Napi::Value Start(const Napi::CallbackInfo& info) { return RunStep(info, true); }
  Napi::Value Step(const Napi::CallbackInfo& info) { return RunStep(info, false); }

  // encode/decode: one call of sasl_encode/sasl_decode.  The caller keeps
  // encode's input within maxOutBuf(); decode buffers partial packets itself.
  Napi::Value Code(const Napi::CallbackInfo& info, bool encode) {
    Napi::Env env = info.Env();
    if (!conn_ || busy_) throw Napi::Error::New(env, "SaslClient is not ready");
    if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "expected a Buffer");
    auto b = info[0].As<Napi::Buffer<char>>();
    const char* out = nullptr;
    unsigned outlen = 0;
    int r =
        (encode ? api.encode : api.decode)(conn_, b.Data(), static_cast<unsigned>(b.Length()), &out, &outlen);
    if (r != SASL_OK) {
      const char* d = api.errdetail(conn_);
      Napi::Error e = Napi::Error::New(env, std::string(encode ? "encoding error: " : "decoding error: ") +
                                                ErrString(r) + "; " + (d ? d : "no detail"));
      e.Set("saslCode", Napi::Number::New(env, r));
      throw e;
    }
    return Napi::Buffer<char>::Copy(env, out ? out : "", outlen);
  }
  Napi::Value Encode(const Napi::CallbackInfo& info) { return Code(info, true); }
  Napi::Value Decode(const Napi::CallbackInfo& info) { return Code(info, false); }

  unsigned PropUnsigned(Napi::Env env, int prop) {
    if (!conn_) throw Napi::Error::New(env, "SaslClient is disposed");
    const void* p = nullptr;
    int r = api.getprop(conn_, prop, &p);
    if (r != SASL_OK || !p) throw Napi::Error::New(env, "sasl_getprop: " + ErrString(r));
    return *static_cast<const unsigned*>(p);
  }
  Napi::Value Ssf(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), PropUnsigned(info.Env(), SASL_SSF));
  }
  Napi::Value MaxOutBuf(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), PropUnsigned(info.Env(), SASL_MAXOUTBUF));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_)
      disposeLater_ = true;
    else
      Release();
    return info.Env().Undefined();
  }

  void Release() {
    if (conn_) api.dispose(&conn_);
    conn_ = nullptr;
    if (secret_) {
      explicit_bzero(secret_, secretSize_);
      free(secret_);
      secret_ = nullptr;
    }
  }

  sasl_conn_t* conn_ = nullptr;
  sasl_callback_t cbs_[4];
  std::string authname_, realm_;
  sasl_secret_t* secret_ = nullptr;
  size_t secretSize_ = 0;
  bool busy_ = false;
  bool disposeLater_ = false;
};

static Napi::Value SaslAvailable(const Napi::CallbackInfo& info) {
  if (Loaded()) return info.Env().Null();
  return Napi::String::New(info.Env(), loadError);
}

void InitSasl(Napi::Env env, Napi::Object exports) {
  exports.Set("saslUnavailableReason", Napi::Function::New(env, SaslAvailable, "saslUnavailableReason"));
  exports.Set("SaslClient", SaslClient::Define(env));
}

}  // namespace syncmux
