// syslog(3), because Cyrus admins grep syslog and Node has no unix datagram
// sockets.  openlog() is process-wide, so its ident lives in a static buffer.
#include <syslog.h>

#include <cstring>
#include <mutex>
#include <string>

#include "common.h"

namespace syncmux {

namespace {

std::mutex identMutex;
char identBuffer[256];

// openlog(ident, facility): facility is the numeric LOG_* value (e.g. LOG_LOCAL6).
Napi::Value OpenLog(const Napi::CallbackInfo& info) {
  if (!info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(info.Env(), "openlog(ident: string, facility: number)");
  std::string ident = info[0].As<Napi::String>().Utf8Value();
  std::lock_guard<std::mutex> guard(identMutex);
  strncpy(identBuffer, ident.c_str(), sizeof identBuffer - 1);
  identBuffer[sizeof identBuffer - 1] = '\0';
  openlog(identBuffer, LOG_PID | LOG_NDELAY, info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// syslog(priority, message): priority is level | facility, as in syslog(3).
Napi::Value Syslog(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber() || !info[1].IsString())
    throw Napi::TypeError::New(info.Env(), "syslog(priority: number, message: string)");
  std::string message = info[1].As<Napi::String>().Utf8Value();
  syslog(info[0].As<Napi::Number>().Int32Value(), "%s", message.c_str());
  return info.Env().Undefined();
}

}  // namespace

void InitSyslog(Napi::Env env, Napi::Object exports) {
  exports.Set("openlog", Napi::Function::New(env, OpenLog, "openlog"));
  exports.Set("syslog", Napi::Function::New(env, Syslog, "syslog"));
}

}  // namespace syncmux
