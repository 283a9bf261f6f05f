// selectIndexRecords: the records of a cyrus.index a steady-state pass needs,
// without copying the whole file into the JS heap.  An APPEND to a
// 50,000-message INBOX needs one record, but finding it means looking at
// every record's UID and MODSEQ (Cyrus keeps no modseq order), as Cyrus's
// own iterator does through its mmap.  Reading all 5.6 MB into a Buffer and
// scanning it in JS cost ~10 ms a pass; here it is pread through a small
// reused buffer and a compare per record.  pread rather than mmap: a file
// truncated under us (a damaged store, a tool ignoring the lock) gives a
// short read and an error, never SIGBUS.
//
// The caller holds cyrus.index's shared lock and has decoded the header, so
// it passes the layout as plain numbers; JS validates them and decodes the
// selected records.
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common.h"

namespace syncmux {

namespace {

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<int64_t>(info[i].As<Napi::Number>().Int64Value());
}

// selectIndexRecords(fd, startOffset, recordSize, numRecords, modseqOffset,
//                    modseqHi, modseqLo, uidAbove)
// -> Buffer of [recno u32 BE][record bytes] for each record with a non-zero
//    UID and (UID > uidAbove or, when modseqOffset >= 0, MODSEQ > hi:lo),
//    in file order; or null when the file is shorter than the records need.
Napi::Value SelectIndexRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = static_cast<int>(IntArg(info, 0));
  const int64_t start = IntArg(info, 1);
  const int64_t recordSize = IntArg(info, 2);
  const int64_t numRecords = IntArg(info, 3);
  const int64_t modseqOffset = IntArg(info, 4);
  const uint64_t floor =
      (uint64_t{static_cast<uint32_t>(IntArg(info, 5))} << 32) | static_cast<uint32_t>(IntArg(info, 6));
  const uint32_t uidAbove = static_cast<uint32_t>(IntArg(info, 7));

  struct stat st;
  if (fstat(fd, &st) != 0) throw ErrnoError(env, errno, "fstat", "");
  if (st.st_size < start + numRecords * recordSize) return env.Null();

  const int64_t perChunk = recordSize > 0 ? (256 * 1024) / recordSize + 1 : 1;
  std::vector<unsigned char> chunk(static_cast<size_t>(perChunk * recordSize));
  std::vector<unsigned char> out;
  for (int64_t first = 0; first < numRecords; first += perChunk) {
    const int64_t count = numRecords - first < perChunk ? numRecords - first : perChunk;
    const size_t want = static_cast<size_t>(count * recordSize);
    size_t got = 0;
    while (got < want) {
      ssize_t n =
          pread(fd, chunk.data() + got, want - got, start + first * recordSize + static_cast<int64_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ErrnoError(env, errno, "pread", "");
      if (n == 0) return env.Null();  // truncated since the fstat
      got += static_cast<size_t>(n);
    }
    for (int64_t i = 0; i < count; i++) {
      const unsigned char* rec = chunk.data() + i * recordSize;
      const uint32_t uid = Be32(rec);
      if (uid == 0) continue;
      bool wanted = uid > uidAbove;
      if (!wanted && modseqOffset >= 0) {
        const uint64_t modseq = (uint64_t{Be32(rec + modseqOffset)} << 32) | Be32(rec + modseqOffset + 4);
        wanted = modseq > floor;
      }
      if (!wanted) continue;
      const uint32_t recno = static_cast<uint32_t>(first + i + 1);
      const unsigned char be[4] = {static_cast<unsigned char>(recno >> 24),
                                   static_cast<unsigned char>(recno >> 16),
                                   static_cast<unsigned char>(recno >> 8), static_cast<unsigned char>(recno)};
      out.insert(out.end(), be, be + 4);
      out.insert(out.end(), rec, rec + recordSize);
    }
  }
  return Napi::Buffer<unsigned char>::Copy(env, out.data(), out.size());
}

}  // namespace

void InitIndexScan(Napi::Env env, Napi::Object exports) {
  exports.Set("selectIndexRecords", Napi::Function::New(env, SelectIndexRecords, "selectIndexRecords"));
}

}  // namespace syncmux
