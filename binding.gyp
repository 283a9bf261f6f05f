{
  "targets": [{
    "target_name": "syncmux",
    "sources": [
      "native/addon.cc",
      "native/hash.cc",
      "native/index_scan.cc",
      "native/locks.cc",
      "native/logfile.cc",
      "native/sasl.cc",
      "native/syslog.cc",
      "native/zlib.cc"
    ],
    "libraries": ["-ldl"],
    "include_dirs": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('xxhash-addon/package.json')), 'xxHash')\")"],
    "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
    "defines": [
      "NAPI_VERSION=8",
      "NODE_ADDON_API_DISABLE_DEPRECATED",
      "NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED",
      "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
      "_GNU_SOURCE"
    ],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
  }]
}
