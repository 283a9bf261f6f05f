/**
 * Imported first by each CLI entry point, for its side effect: a larger
 * libuv pool before anything uses it. Every shard worker shares the one
 * pool for file reads (message bodies), appends and zlib, and the default
 * of 4 threads is too few for N workers. An explicit setting wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
