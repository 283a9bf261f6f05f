// Shard hashing: XXH3-64 of UTF-8 keys.  The batch forms exist because a
// native call costs ~50 ns, more than hashing a short key; one call per batch
// of newline-separated keys amortises it.
#define XXH_INLINE_ALL
#include <string>
#include <vector>

#include "common.h"
#include "xxhash.h"

namespace syncmux {

namespace {

// Reads a JS string as UTF-8 into a stack buffer, falling back to the heap.
struct Utf8Key {
  char stack[256];
  std::string heap;
  const char* data = stack;
  size_t length = 0;

  Utf8Key(napi_env env, napi_value value) {
    size_t needed = 0;
    napi_get_value_string_utf8(env, value, nullptr, 0, &needed);
    if (needed < sizeof stack) {
      napi_get_value_string_utf8(env, value, stack, sizeof stack, &length);
    } else {
      heap.resize(needed + 1);
      napi_get_value_string_utf8(env, value, heap.data(), needed + 1, &length);
      data = heap.data();
    }
  }
};

uint64_t RequireModulus(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), "shard count must be a number");
  double n = info[index].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 4294967295.0) || n != static_cast<double>(static_cast<uint64_t>(n)))
    throw Napi::RangeError::New(info.Env(), "shard count must be an integer from 1 to 2^32-1");
  return static_cast<uint64_t>(n);
}

Napi::Value Hash64(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "key must be a string");
  Utf8Key key(info.Env(), info[0]);
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(XXH3_64bits(key.data, key.length)));
}

Napi::Value ShardOf(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "key must be a string");
  uint64_t n = RequireModulus(info, 1);
  Utf8Key key(info.Env(), info[0]);
  return Napi::Number::New(info.Env(), static_cast<double>(XXH3_64bits(key.data, key.length) % n));
}

// shardOfLines(bytes, n): bytes hold keys separated by '\n' (a trailing '\n'
// is optional).  Returns a Uint32Array with one shard number per key.
Napi::Value ShardOfLines(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "keys must be a Uint8Array");
  auto bytes = info[0].As<Napi::Uint8Array>();
  uint64_t n = RequireModulus(info, 1);
  const char* data = reinterpret_cast<const char*>(bytes.Data());
  size_t size = bytes.ByteLength();
  std::vector<uint32_t> shards;
  shards.reserve(size / 8 + 1);
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i == size || data[i] == '\n') {
      if (i == size && start == size) break;  // trailing newline: no empty last key
      shards.push_back(static_cast<uint32_t>(XXH3_64bits(data + start, i - start) % n));
      start = i + 1;
    }
  }
  auto out = Napi::Uint32Array::New(info.Env(), shards.size());
  std::copy(shards.begin(), shards.end(), out.Data());
  return out;
}

}  // namespace

void InitHash(Napi::Env env, Napi::Object exports) {
  exports.Set("hash64", Napi::Function::New(env, Hash64, "hash64"));
  exports.Set("shardOf", Napi::Function::New(env, ShardOf, "shardOf"));
  exports.Set("shardOfLines", Napi::Function::New(env, ShardOfLines, "shardOfLines"));
}

}  // namespace syncmux
