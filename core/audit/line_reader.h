// LineReader: the lines of an audit log, read in fixed-size chunks so that a
// log of any size is streamed, never loaded whole. A gzip-compressed file
// (recognised by its magic bytes, not its name) is inflated through zlib on
// the way; concatenated gzip members are read one after another.
//
// Each line handed out stays valid until the next call, and at least
// kLinePadding readable bytes follow its end in memory, as simdjson's
// parsers need. A line longer than kMaxLineBytes is reported as oversized
// (its text cut) and the rest of it skipped.
//
// Owns its file descriptor and buffer; not safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace siq::audit {

inline constexpr size_t kLinePadding = 64;
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;

struct Line {
  std::string_view text;  // without the '\n' (and without a trailing '\r')
  uint64_t number = 0;    // 1-based
  bool oversized = false;
  // Bytes readable from text.data(), padding included (>= size+padding).
  size_t capacity = 0;
};

class LineReader {
 public:
  // Opens `path` for reading. Fails with kInvalidArgument when it does not
  // exist or is not a regular file, kIoError when it cannot be opened; the
  // message names the file.
  [[nodiscard]] static Result<std::unique_ptr<LineReader>> Open(
      const std::string& path);

  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader();

  // The next line; false at the end of the file or on a read error (then
  // status() says which). A last line without '\n' is still a line.
  bool Next(Line& line);

  // Ok, or the read or decompression error that ended the file early,
  // naming the file and the line reached.
  const Status& status() const { return status_; }
  // Bytes of the file consumed so far (compressed bytes for gzip).
  uint64_t file_bytes() const;
  bool compressed() const { return gzip_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  LineReader(std::string path, int fd);
  // Reads more bytes after the data kept in the buffer; false at the end
  // of the file or on an error.
  bool Fill();
  void Fail(const std::string& why);

  std::string path_;
  int fd_ = -1;
  void* gzip_ = nullptr;  // gzFile when compressed
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last byte read
  uint64_t line_number_ = 0;
  uint64_t raw_bytes_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside an oversized line
  Status status_;
};

}  // namespace siq::audit
