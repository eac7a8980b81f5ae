#include "core/audit/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace siq::audit {
namespace {

// Big enough that a read() or gzread() call costs little per byte, small
// enough to stay in the cache while the lines are parsed.
constexpr size_t kBufferBytes = size_t{4} << 20;
static_assert(kMaxLineBytes < kBufferBytes);

bool IsGzip(int fd) {
  unsigned char magic[2] = {0, 0};
  return pread(fd, magic, sizeof magic, 0) == 2 && magic[0] == 0x1f &&
         magic[1] == 0x8b;
}

gzFile AsGz(void* file) {
  return static_cast<gzFile>(file);
}

}  // namespace

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("audit log {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("audit log {}: not a regular file", path));
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(
        StatusCode::kIoError,
        fmt::format("opening audit log {}: {}", path, std::strerror(errno)));
  }
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<LineReader>(new LineReader(path, fd));
}

LineReader::LineReader(std::string path, int fd)
    : path_(std::move(path)),
      fd_(fd),
      buffer_(new char[kBufferBytes + kLinePadding]) {
  std::memset(buffer_.get() + kBufferBytes, 0, kLinePadding);
  if (IsGzip(fd_)) {
    gzip_ = gzdopen(fd_, "rb");
    if (gzip_ == nullptr) {
      Fail("zlib cannot read it");
      return;
    }
    fd_ = -1;  // owned by zlib now
    gzbuffer(AsGz(gzip_), 1 << 18);
  }
}

LineReader::~LineReader() {
  if (gzip_ != nullptr) {
    gzclose(AsGz(gzip_));
  }
  if (fd_ >= 0) {
    close(fd_);
  }
}

uint64_t LineReader::file_bytes() const {
  if (gzip_ != nullptr) {
    return static_cast<uint64_t>(gzoffset(AsGz(gzip_)));
  }
  return raw_bytes_;
}

void LineReader::Fail(const std::string& why) {
  status_ = Status(StatusCode::kIoError,
                   fmt::format("reading audit log {} after line {}: {}", path_,
                               line_number_, why));
  eof_ = true;
}

bool LineReader::Fill() {
  if (eof_) {
    return false;
  }
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  char* into = buffer_.get() + end_;
  size_t room = kBufferBytes - end_;
  int64_t got = 0;
  if (gzip_ != nullptr) {
    got = gzread(AsGz(gzip_), into, static_cast<unsigned>(room));
    if (got < 0) {
      int code = 0;
      Fail(fmt::format("gzip: {}", gzerror(AsGz(gzip_), &code)));
      return false;
    }
  } else {
    do {
      got = read(fd_, into, room);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      Fail(std::strerror(errno));
      return false;
    }
    raw_bytes_ += static_cast<uint64_t>(got);
  }
  if (got == 0) {
    int code = Z_OK;
    if (gzip_ != nullptr && (gzerror(AsGz(gzip_), &code), code != Z_OK)) {
      // zlib says "unexpected end of file" for a cut-off stream.
      Fail(fmt::format("gzip: {}", gzerror(AsGz(gzip_), &code)));
      return false;
    }
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(got);
  return true;
}

bool LineReader::Next(Line& line) {
  for (;;) {
    char* start = buffer_.get() + begin_;
    auto* newline = static_cast<char*>(std::memchr(start, '\n', end_ - begin_));
    if (newline != nullptr) {
      size_t length = static_cast<size_t>(newline - start);
      begin_ += length + 1;
      if (skipping_) {
        skipping_ = false;
        continue;
      }
      if (length > kMaxLineBytes) {
        line = Line{.text = std::string_view(start, 80),
                    .number = ++line_number_,
                    .oversized = true,
                    .capacity = 80 + kLinePadding};
        return true;
      }
      if (length > 0 && start[length - 1] == '\r') {
        --length;
      }
      line = Line{.text = std::string_view(start, length),
                  .number = ++line_number_,
                  .capacity = kBufferBytes + kLinePadding -
                              static_cast<size_t>(start - buffer_.get())};
      return true;
    }

    if (skipping_) {
      begin_ = end_;
    } else if (end_ - begin_ >= kMaxLineBytes) {
      // Report the line once, with a little of its start, then skip it.
      line = Line{.text = std::string_view(start, 80),
                  .number = ++line_number_,
                  .oversized = true,
                  .capacity = 80 + kLinePadding};
      skipping_ = true;
      begin_ = end_;
      return true;
    }
    if (!Fill()) {
      if (!status_.ok() || skipping_ || begin_ == end_) {
        return false;
      }
      // The last line, without a newline (maybe cut short).
      start = buffer_.get() + begin_;
      size_t length = end_ - begin_;
      begin_ = end_;
      line = Line{.text = std::string_view(start, length),
                  .number = ++line_number_,
                  .capacity = kBufferBytes + kLinePadding -
                              static_cast<size_t>(start - buffer_.get())};
      return true;
    }
  }
}

}  // namespace siq::audit
